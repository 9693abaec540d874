// bpftrace 0.17: ERROR: printf() requires at least one argument (0 provided)
BEGIN { printf(); }
