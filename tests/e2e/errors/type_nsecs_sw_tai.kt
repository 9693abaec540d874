// bpftrace 0.17: ERROR: Unknown identifier: sw_tai
BEGIN { @x = nsecs(sw_tai); }
