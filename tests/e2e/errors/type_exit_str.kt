// bpftrace 0.17: ERROR: exit() requires no arguments (1 provided)
BEGIN { exit("now"); }
