// bpftrace 0.17: ERROR: Unknown function: maxx
BEGIN { @x = 1; @y = maxx(@x); }
