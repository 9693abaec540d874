// bpftrace 0.17: ERROR: Unknown identifier: usermode
tracepoint:syscalls:sys_enter_read { @[usermode] = count(); }
