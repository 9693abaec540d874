// bpftrace 0.17: ERROR: print() takes up to 3 arguments (4 provided)
BEGIN { @x = 1; print(@x, 1, 2, 3); }
