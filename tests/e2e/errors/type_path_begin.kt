// bpftrace 0.17: ERROR: BPF_FUNC_d_path not available for your kernel version
BEGIN { printf("%s\n", path(1)); }
