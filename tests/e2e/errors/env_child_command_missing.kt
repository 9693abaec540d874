// kt-args: -c /no/such/command {file}
// bpftrace 0.17: ERROR: Failed to fork child: path '/no/such/command' does not exist or is not executable
tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @opens = count(); }
