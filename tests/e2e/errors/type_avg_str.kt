// bpftrace 0.17: ERROR: avg() only supports integer arguments (string provided)
BEGIN { @a = avg("x"); }
