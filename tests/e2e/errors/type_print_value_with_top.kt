// bpftrace 0.17: ERROR: Non-map print() only takes 1 argument, 2 found
BEGIN { print(1, 2); }
