// bpftrace 0.17: ERROR: strncmp() only supports string arguments (integer provided)
BEGIN { if (strncmp(1, 2, 3)) { exit(); } }
