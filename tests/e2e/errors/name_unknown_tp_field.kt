// bpftrace 0.17: ERROR: Struct/union of type 'struct _tracepoint_syscalls_sys_enter_openat' does not contain a field named 'nope'
tracepoint:syscalls:sys_enter_openat { printf("%s\n", str(args->nope)); }
