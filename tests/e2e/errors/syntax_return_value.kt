// bpftrace 0.17: ERROR: syntax error, unexpected integer, expecting }
BEGIN { return 1; }
