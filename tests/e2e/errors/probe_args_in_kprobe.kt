// bpftrace 0.17: ERROR: The args builtin can only be used with tracepoint/kfunc/uprobeprobes (kprobe used here)
kprobe:vfs_read { @x = args->foo; }
