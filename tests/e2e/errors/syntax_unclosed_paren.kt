// bpftrace 0.17: ERROR: syntax error, unexpected ;, expecting ) or ","
BEGIN { printf("%d\n", (1 + 2); }
