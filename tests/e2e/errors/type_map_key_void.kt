// bpftrace 0.17: ERROR: printf() should not be used in an assignment or as a map key
BEGIN { @x[printf("a")] = 1; }
