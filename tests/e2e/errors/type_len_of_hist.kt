// bpftrace 0.17: ERROR: Unknown function: len
BEGIN { @h[1] = hist(1); print(len(@h)); }
