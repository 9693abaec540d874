// bpftrace 0.17: ERROR: Unknown identifier: 'pidd'
BEGIN { $x = pidd; }
