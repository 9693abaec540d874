// bpftrace 0.17: ERROR: The retval builtin can only be used with 'kretprobe' and 'uretprobe' and 'kfunc' probes
BEGIN { @x = retval; }
