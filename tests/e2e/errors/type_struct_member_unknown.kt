// bpftrace 0.17: ERROR: Struct/union of type 'struct Foo' does not contain a field named 'b'
struct Foo { int a; }
BEGIN { $f = (struct Foo *)0; $x = $f->b; }
