// bpftrace 0.17: ERROR: printf: Not enough arguments for format string (1 supplied, 2 expected)
BEGIN { printf("%d %s\n", 1); }
