// bpftrace 0.17: ERROR: syntax error, unexpected .
BEGIN { $r = 1..5; }
