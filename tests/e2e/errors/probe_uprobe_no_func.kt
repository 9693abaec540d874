// bpftrace 0.17: ERROR: uprobe probe type requires 2 arguments
uprobe:/bin/true { }
