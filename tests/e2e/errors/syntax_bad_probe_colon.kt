// bpftrace 0.17: ERROR: tracepoint not found: :sys_enter_openat
tracepoint::sys_enter_openat { }
