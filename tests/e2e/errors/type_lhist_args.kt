// bpftrace 0.17: ERROR: lhist() requires 4 arguments (3 provided)
BEGIN { @h = lhist(1, 0, 10); }
