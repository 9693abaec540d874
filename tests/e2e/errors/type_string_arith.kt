// bpftrace 0.17: ERROR: Type mismatch for '+': comparing 'string[16]' with 'int64'
BEGIN { $x = comm + 1; }
