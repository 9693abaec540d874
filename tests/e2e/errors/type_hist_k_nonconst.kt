// k must be a literal, as in bpftrace 0.26
BEGIN { $k = 2; @h = hist(1, $k); }
