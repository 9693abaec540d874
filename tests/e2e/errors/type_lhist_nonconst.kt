// bpftrace 0.17: ERROR: lhist() expects a integer literal (integer provided)
BEGIN { $m = 10; @h = lhist(1, 0, $m, 1); }
