// hist(v, k): k is 0 .. 5
BEGIN { @h = hist(1, 6); }
