// bpftrace 0.17: ERROR: printf() expects a string literal (string provided)
BEGIN { $f = "%d"; printf($f, 1); }
