// bpftrace 0.17: ERROR: sum() requires one argument (0 provided)
BEGIN { @c = sum(); }
