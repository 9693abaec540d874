// bpftrace 0.17: ERROR: Undefined or undeclared variable: $x
BEGIN { $x = 1; }
END { printf("%d\n", $x); }
