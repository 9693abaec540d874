// bpftrace 0.17: ERROR: printf: %d specifier expects a value of type integer (none supplied)
BEGIN { printf("%d\n", exit()); }
