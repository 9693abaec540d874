// bpftrace 0.17: ERROR: syntax error (no & of maps)
BEGIN { @x = 1; $p = &@x; }
