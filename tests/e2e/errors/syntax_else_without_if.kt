// bpftrace 0.17: ERROR: syntax error, unexpected else, expecting }
BEGIN { else { exit(); } }
