// bpftrace 0.17: ERROR: strftime() expects a string literal (integer provided)
BEGIN { printf("%s\n", strftime(1, nsecs)); }
