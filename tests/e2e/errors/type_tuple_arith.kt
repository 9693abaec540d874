// bpftrace 0.17: ERROR: Type mismatch for '+': comparing '(int64,int64)' with 'int64'
BEGIN { $t = (1, 2); $u = $t + 1; }
