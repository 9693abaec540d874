// bpftrace 0.17: ERROR: syntax error (0.26: nsecs takes monotonic, boot, tai or sw_tai)
BEGIN { @x = nsecs(wall); }
