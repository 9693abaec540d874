// bpftrace 0.17: ERROR: syntax error (no & of variables)
BEGIN { $x = 1; @keep = &$x; }
