// bpftrace 0.17: ERROR: unexpected end of file, expected {
BEGIN
