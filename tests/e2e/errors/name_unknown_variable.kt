// bpftrace 0.17: ERROR: Undefined or undeclared variable: $count
BEGIN { printf("%d\n", $count); }
