// bpftrace 0.17: ERROR: Unknown function: strlen
BEGIN { @x = strlen(5); }
