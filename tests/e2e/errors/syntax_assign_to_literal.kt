// bpftrace 0.17: ERROR: syntax error, unexpected =, expecting }
BEGIN { 1 = 2; }
