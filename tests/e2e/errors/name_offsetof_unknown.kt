// bpftrace 0.17: ERROR: Unknown function: offsetof
struct S { int a; }
BEGIN { $x = offsetof(struct S, b); }
