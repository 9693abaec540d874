// bpftrace 0.17: ERROR: Unknown function: ppid
BEGIN { printf("%d\n", ppid(curtask)); }
