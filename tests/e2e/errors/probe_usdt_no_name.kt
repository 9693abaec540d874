// bpftrace 0.17: ERROR: usdt probe type requires 2 or 3 arguments
usdt:/bin/true { }
