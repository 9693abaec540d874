// bpftrace 0.17: ERROR: Unknown function: prnitf
BEGIN { prnitf("hi\n"); }
