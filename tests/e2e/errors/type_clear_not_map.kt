// bpftrace 0.17: ERROR: clear() expects a map to be provided
BEGIN { clear(1); }
