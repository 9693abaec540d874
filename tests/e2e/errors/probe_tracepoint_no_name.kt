// bpftrace 0.17: ERROR: tracepoint probe type requires 2 arguments
tracepoint:syscalls { }
