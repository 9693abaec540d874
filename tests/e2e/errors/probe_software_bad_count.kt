// bpftrace 0.17: ERROR: stoull
software:cpu-clock:abc { }
