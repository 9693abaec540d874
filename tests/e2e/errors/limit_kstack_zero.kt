// bpftrace 0.17 accepts this script (kstack(0) is an empty stack)
kprobe:vfs_read { @s[kstack(0)] = count(); }
