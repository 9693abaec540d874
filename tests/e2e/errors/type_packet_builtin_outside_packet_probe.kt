tracepoint:syscalls:sys_enter_openat { @[dport] = count(); }
