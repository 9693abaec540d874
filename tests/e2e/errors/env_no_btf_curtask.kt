// kt-as: no-btf
// bpftrace 0.17 accepts this script without BTF (it has other sources of kernel types; kt reads them only from BTF)
BEGIN { printf("%d\n", curtask->pid); exit(); }
