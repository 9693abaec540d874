// bpftrace 0.17 accepts this script
uprobe:/bin/true:no_such_function_xyz { }
