// bpftrace 0.17: ERROR: printf: %d specifier expects a value of type integer (string supplied)
BEGIN { printf("%d\n", comm); }
