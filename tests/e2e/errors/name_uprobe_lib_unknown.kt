// bpftrace 0.17: ERROR: uprobe target file 'libnosuchlib' does not exist or is not executable
uprobe:libnosuchlib:foo { }
