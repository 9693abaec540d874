// bpftrace 0.17: ERROR: usym() expects an integer or pointer argument
BEGIN { printf("%s\n", usym(comm)); }
