// bpftrace 0.17: definitions.h:2:12: error: unknown type name 'mytype_t'
struct S { mytype_t a; }
BEGIN { $x = sizeof(struct S); }
