// bpftrace 0.17: ERROR: Type mismatch for @x: trying to assign value of type '(int64,int64)' when map already contains a value of type 'int64
BEGIN { @x = 1; }
END { @x = (1, 2); }
