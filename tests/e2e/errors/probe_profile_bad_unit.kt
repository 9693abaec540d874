// bpftrace 0.17: ERROR: minutes is not an accepted unit of time
profile:minutes:1 { }
