// bpftrace 0.17: ERROR: syntax error, unexpected =, expecting }
tracepoint:syscalls:sys_enter_openat { args->filename = 0; }
