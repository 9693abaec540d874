// bpftrace 0.17: ERROR: break used outside of a loop
BEGIN { break; }
