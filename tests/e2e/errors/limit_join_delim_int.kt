// bpftrace 0.17: ERROR: join() expects a string literal (integer provided)
tracepoint:syscalls:sys_enter_execve { join(args->argv, 1); }
