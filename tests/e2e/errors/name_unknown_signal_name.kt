// bpftrace 0.17: ERROR: signal() is an unsafe function being used in safe mode
tracepoint:syscalls:sys_enter_kill { signal("SIGNOPE"); }
