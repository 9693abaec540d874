// bpftrace 0.17: ERROR: syntax error, unexpected =, expecting ] or ","
BEGIN { @x[1 = 2; }
