// bpftrace 0.17: ERROR: The retval builtin can only be used with 'kretprobe' and 'uretprobe' and 'kfunc' probes (try to use args->ret instead)
tracepoint:syscalls:sys_enter_openat { @x = retval; }
