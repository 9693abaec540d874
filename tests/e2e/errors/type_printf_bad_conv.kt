// bpftrace 0.17: ERROR: printf: Too many arguments for format string (1 supplied, 0 expected)
BEGIN { printf("%q\n", 1); }
