// bpftrace 0.17: ERROR: kstack([int limit]): limit shouldn't exceed 1024, 2000 given
kprobe:vfs_read { @s[kstack(2000)] = 1; }
