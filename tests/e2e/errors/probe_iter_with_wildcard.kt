// bpftrace 0.17: ERROR: iter probe type does not support wildcards
iter:task* { }
