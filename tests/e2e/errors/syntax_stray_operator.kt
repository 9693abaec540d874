// bpftrace 0.17: ERROR: syntax error, unexpected ;
BEGIN { $x = 1 + ; }
