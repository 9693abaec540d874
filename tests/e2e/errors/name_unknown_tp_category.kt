// bpftrace 0.17: ERROR: tracepoint not found: syscals:sys_enter_openat
tracepoint:syscals:sys_enter_openat { }
