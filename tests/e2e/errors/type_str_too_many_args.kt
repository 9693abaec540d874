// bpftrace 0.17: ERROR: str() takes up to 2 arguments (3 provided)
BEGIN { $s = str(1, 2, 3); }
