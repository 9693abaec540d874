// bpftrace 0.17: ERROR: uaddr can not be used with "tracepoint" probes
tracepoint:syscalls:sys_enter_openat { @x = uaddr("main"); }
