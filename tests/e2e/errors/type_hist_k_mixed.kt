// hist(v) and hist(v, k) are different histograms: one map holds one kind
BEGIN { @h = hist(1); @h = hist(1, 2); }
