// bpftrace 0.17 accepts this script
BEGIN { $s = str(1, -1); }
