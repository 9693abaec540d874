// bpftrace 0.17: ERROR: hist() only supports integer arguments (string provided)
BEGIN { @h = hist(comm); }
