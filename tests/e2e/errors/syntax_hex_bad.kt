// bpftrace 0.17: ERROR: syntax error, unexpected identifier, expecting }
BEGIN { $x = 0xZZ; }
