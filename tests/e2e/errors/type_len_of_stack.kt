// bpftrace 0.17: ERROR: Unknown function: len
BEGIN { print(len(kstack)); }
