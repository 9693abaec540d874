// bpftrace 0.17: ERROR: Unknown struct/union: 'struct nosuch_struct'
BEGIN { $x = (struct nosuch_struct *)0; printf("%d\n", $x->a); }
