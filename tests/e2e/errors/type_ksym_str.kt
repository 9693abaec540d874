// bpftrace 0.17: ERROR: ksym() expects an integer or pointer argument
BEGIN { printf("%s\n", ksym(comm)); }
