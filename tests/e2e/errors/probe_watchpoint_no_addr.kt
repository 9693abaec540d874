// bpftrace 0.17: ERROR: watchpoint probe type requires 3 arguments
watchpoint { }
