// bpftrace 0.17: ERROR: Type mismatch for $s: trying to assign value of type 'unsigned int64' when variable already contains a value of type 'string[16]'
BEGIN { $s = comm; $s += 1; }
