// bpftrace 0.17: ERROR: The args builtin can only be used with tracepoint/kfunc/uprobeprobes (special used here)
BEGIN { @x = args->foo; }
