// bpftrace 0.17: ERROR: syntax error (no macros)
macro add(a, b) { a + b }
BEGIN { print(add(1)); }
