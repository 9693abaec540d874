// bpftrace 0.17: ERROR: printf: Too many arguments for format string (2 supplied, 1 expected)
BEGIN { printf("%d\n", 1, 2); }
