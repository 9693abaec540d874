// bpftrace 0.17: ERROR: stoull
BEGIN { $x = -99999999999999999999; }
