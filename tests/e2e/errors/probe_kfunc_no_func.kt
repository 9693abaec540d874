// bpftrace 0.17: ERROR: kfunc/kretfunc not available for your kernel version.
kfunc: { }
