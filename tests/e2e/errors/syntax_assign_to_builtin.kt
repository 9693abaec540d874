// bpftrace 0.17: ERROR: syntax error, unexpected =, expecting }
BEGIN { comm = "x"; }
