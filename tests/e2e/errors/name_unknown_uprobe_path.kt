// bpftrace 0.17: ERROR: uprobe target file '/no/such/binary' does not exist or is not executable
uprobe:/no/such/binary:main { }
