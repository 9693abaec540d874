// bpftrace 0.17: ERROR: watchpoint length must be one of (1,2,4,8)
watchpoint:0x1000:3:w { }
