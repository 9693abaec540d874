// bpftrace 0.17: ERROR: Unknown struct/union: 'myint_t'
BEGIN { $x = (myint_t)1; }
