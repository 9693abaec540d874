// bpftrace 0.17: ERROR: syntax error (no let)
BEGIN { $a = 1; let $a = 2; }
