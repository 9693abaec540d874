// bpftrace 0.17: ERROR: cgroupid() expects a string literal (integer provided)
BEGIN { $x = cgroupid(1); }
