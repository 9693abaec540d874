// bpftrace 0.17: ERROR: unroll maximum value is 100
BEGIN { unroll(200) { @x++; } }
