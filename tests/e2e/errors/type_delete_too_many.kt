// bpftrace 0.17: ERROR: delete() requires one argument (3 provided)
BEGIN { @x[1] = 1; delete(@x, 1, 2); }
