// bpftrace 0.17: ERROR: signal() is an unsafe function being used in safe mode
BEGIN { signal("SIGFOO"); }
