// kt-as: no-btf
// bpftrace 0.17 (no BTF): ERROR: Struct/union of type 'struct task_struct' does not contain a field named 'pid' -- or, without BTF, curtask is an integer
BEGIN { printf("%d\n", curtask->pid); exit(); }
