// bpftrace 0.17: definitions.h:2:28: error: field has incomplete type 'struct S'
struct S { int a; struct S s; }
BEGIN { $x = sizeof(struct S); }
