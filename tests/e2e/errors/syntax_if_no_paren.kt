// bpftrace 0.17: ERROR: syntax error, unexpected integer, expecting (
BEGIN { if 1 { exit(); } }
