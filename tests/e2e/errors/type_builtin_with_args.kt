// bpftrace 0.17: ERROR: Unknown function: nsecs
BEGIN { @x = nsecs(1); }
