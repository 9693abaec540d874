// bpftrace 0.17: ERROR: invalid character '`'
BEGIN { $x = 1 ` 2; }
