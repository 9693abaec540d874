// bpftrace 0.17: ERROR: syntax error (no & of variables)
BEGIN { $x = 1; @m[(1, &$x)] = 1; }
