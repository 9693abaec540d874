// kt-args: -p 999999999 {file}
// bpftrace 0.17: ERROR: pid '999999999' doesn't exist.
tracepoint:syscalls:sys_enter_openat /pid == 999999999/ { @opens = count(); }
