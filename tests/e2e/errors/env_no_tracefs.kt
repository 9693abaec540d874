// kt-as: no-tracefs
// bpftrace 0.17: ERROR: tracepoint not found: syscalls:sys_enter_openat (it reads the missing tracefs format file)
tracepoint:syscalls:sys_enter_openat { @opens = count(); }
