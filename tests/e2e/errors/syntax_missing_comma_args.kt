// bpftrace 0.17: ERROR: syntax error, unexpected integer, expecting ) or ","
BEGIN { printf("%d %d\n" 1, 2); }
