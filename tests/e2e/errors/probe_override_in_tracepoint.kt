// bpftrace 0.17: ERROR: override() is an unsafe function being used in safe mode
tracepoint:syscalls:sys_enter_openat { override(1); }
