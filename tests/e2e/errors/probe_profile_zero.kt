// bpftrace 0.17: ERROR: profile frequency should be a positive integer
profile:hz:0 { exit(); }
