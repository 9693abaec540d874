// bpftrace 0.17: ERROR: kstack() takes up to 2 arguments (3 provided)
BEGIN { @s[kstack(perf, 3, 4)] = 1; }
