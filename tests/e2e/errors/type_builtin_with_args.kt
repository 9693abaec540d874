// bpftrace 0.17: ERROR: Unknown function: cpu
BEGIN { @x = cpu(1); }
