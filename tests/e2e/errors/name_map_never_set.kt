// bpftrace 0.17: ERROR: Undefined map: @never
BEGIN { printf("%d\n", @never); }
