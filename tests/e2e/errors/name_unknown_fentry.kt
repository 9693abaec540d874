// bpftrace 0.17: FATAL: Invalid probe type made it to attachpoint parser
fentry:no_such_kernel_function_xyz { }
