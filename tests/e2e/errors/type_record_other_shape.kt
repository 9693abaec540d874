// bpftrace 0.17: ERROR: syntax error (no records)
BEGIN { $r = (x = 1); $r = (x = "s"); }
