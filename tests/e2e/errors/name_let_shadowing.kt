// bpftrace 0.17: ERROR: syntax error (no let)
BEGIN { let $a = 1; if ($a) { let $a = 2; } }
