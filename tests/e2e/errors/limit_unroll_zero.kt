// bpftrace 0.17: ERROR: unroll minimum value is 1
BEGIN { unroll(0) { @x++; } }
