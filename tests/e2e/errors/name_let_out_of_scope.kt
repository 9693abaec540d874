// bpftrace 0.17: ERROR: syntax error (no let)
BEGIN { if (1) { let $q = 2; } print($q); }
