// bpftrace 0.17: ERROR: cycles-nope is not a hardware probe
hardware:cycles-nope:1000 { }
