// bpftrace 0.17: ERROR: tracepoints not found: syscalls:sys_enter_zz*zz
tracepoint:syscalls:sys_enter_zz*zz { }
