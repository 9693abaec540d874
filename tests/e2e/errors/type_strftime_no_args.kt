// bpftrace 0.17: ERROR: strftime() requires at least 2 arguments (0 provided)
BEGIN { printf("%s\n", strftime()); }
