// bpftrace 0.17: ERROR: syntax error (no macros)
macro down(x) { down(x - 1) }
BEGIN { print(down(3)); }
