// kt-as: no-btf
// bpftrace 0.17 (no BTF): ERROR: kfunc/kretfunc not available for your kernel version.
fentry:vfs_read { @reads = count(); exit(); }
