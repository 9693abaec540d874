// bpftrace 0.17: ERROR: stoull
hardware:cycles:xyz { }
