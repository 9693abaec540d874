// bpftrace 0.17: ERROR: printf: %s specifier expects a value of type string (integer supplied)
BEGIN { printf("%s\n", pid); }
