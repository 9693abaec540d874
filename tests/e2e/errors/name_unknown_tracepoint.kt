// bpftrace 0.17: ERROR: tracepoint not found: syscalls:sys_enter_opnat
tracepoint:syscalls:sys_enter_opnat { }
