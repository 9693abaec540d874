// bpftrace 0.17 accepts this script (and prints 1,000,001 buckets)
BEGIN { @h = lhist(1, 0, 1000000, 1); }
