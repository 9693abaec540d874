// bpftrace 0.17: ERROR: stats() requires one argument (2 provided)
BEGIN { @s = stats(1, 2); }
