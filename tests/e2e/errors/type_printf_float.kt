// bpftrace 0.17: printf: Too many arguments for format string (1 supplied, 0 expected)
BEGIN { printf("%5.2f\n", 1); }
