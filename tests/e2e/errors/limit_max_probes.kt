// kt-env: BPFTRACE_MAX_PROBES=2
// bpftrace 0.17: ERROR: Can't attach to 6 probes because it exceeds the current limit of 2 probes.
tracepoint:syscalls:sys_enter_open* /pid == 1/ { @opens = count(); }
