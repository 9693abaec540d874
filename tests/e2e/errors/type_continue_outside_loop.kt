// bpftrace 0.17: ERROR: continue used outside of a loop
BEGIN { continue; }
