// bpftrace 0.17: ERROR: syntax error (no macros)
macro twice(x) {
  x * 2
}
BEGIN { print(twice("a")); }
