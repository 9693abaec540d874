// kt-as: no-btf
// bpftrace 0.17 (as kfunc:vfs_read; it does not know fentry): ERROR: kfunc/kretfunc not available for your kernel version.
fentry:vfs_read { @reads = count(); exit(); }
