// bpftrace 0.17: ERROR: min() only supports integer arguments (string provided)
BEGIN { @m = min(comm); }
