// bpftrace 0.17: ERROR: count() requires no arguments (1 provided)
BEGIN { @c = count(1); }
