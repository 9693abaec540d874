// bpftrace 0.17: ERROR: iter nosuch not available for your kernel version.
iter:nosuch { }
