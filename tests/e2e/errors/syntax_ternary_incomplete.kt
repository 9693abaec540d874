// bpftrace 0.17: ERROR: syntax error, unexpected ;, expecting :
BEGIN { $x = 1 ? 2; }
