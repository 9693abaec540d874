// bpftrace 0.17: ERROR: syntax error, unexpected {, expecting end predicate
BEGIN /pid == 1 { exit(); }
