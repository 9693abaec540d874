// bpftrace 0.17: ERROR: lhist() step must be >= 1 (0 provided)
BEGIN { @h = lhist(1, 0, 10, 0); }
