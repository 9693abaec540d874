// bpftrace 0.17: ERROR: reg can not be used with "BEGIN" probes
BEGIN { $x = reg("nope"); }
