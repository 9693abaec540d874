// bpftrace 0.17: ERROR: lhist() min must be less than max (provided min 10 and max 0)
BEGIN { @h = lhist(1, 10, 0, 1); }
