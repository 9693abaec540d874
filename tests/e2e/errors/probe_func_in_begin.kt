// bpftrace 0.17: ERROR: The func builtin can not be used with 'BEGIN' probes
BEGIN { @x[func] = 1; }
