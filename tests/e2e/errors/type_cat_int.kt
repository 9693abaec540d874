// bpftrace 0.17: ERROR: cat() expects a string literal (integer provided)
BEGIN { cat(1); }
