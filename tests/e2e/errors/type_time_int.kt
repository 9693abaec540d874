// bpftrace 0.17: ERROR: time() expects a string literal (integer provided)
BEGIN { time(1); }
