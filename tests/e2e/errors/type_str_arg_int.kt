// bpftrace 0.17: ERROR: str() only supports integer arguments (string provided)
BEGIN { $x = str(1, "a"); }
