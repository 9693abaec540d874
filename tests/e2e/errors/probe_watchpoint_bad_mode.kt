// bpftrace 0.17: ERROR: watchpoint mode must be combination of (r,w,x)
watchpoint:0x1000:8:q { }
