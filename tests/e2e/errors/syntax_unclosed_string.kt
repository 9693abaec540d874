// bpftrace 0.17: ERROR: unterminated string
BEGIN { printf("hi\n); }
