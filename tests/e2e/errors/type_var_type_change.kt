// bpftrace 0.17: ERROR: Type mismatch for $x: trying to assign value of type 'string[2]' when variable already contains a value of type 'int64'
BEGIN { $x = 1; $x = "a"; }
