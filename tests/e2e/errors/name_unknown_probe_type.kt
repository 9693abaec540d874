// bpftrace 0.17: FATAL: Invalid probe type made it to attachpoint parser
tracepont:syscalls:sys_enter_openat { }
