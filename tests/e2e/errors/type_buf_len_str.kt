// bpftrace 0.17: ERROR: buf() only supports integer arguments (string provided)
BEGIN { printf("%r\n", buf(comm, "x")); }
