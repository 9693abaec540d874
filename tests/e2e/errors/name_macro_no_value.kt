// bpftrace 0.17: ERROR: syntax error (no macros)
macro say(x) { printf("%d\n", x); }
BEGIN { $v = say(1); }
