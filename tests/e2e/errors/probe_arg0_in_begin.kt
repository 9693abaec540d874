// bpftrace 0.17: ERROR: The arg0 builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes
BEGIN { @x = arg0; }
