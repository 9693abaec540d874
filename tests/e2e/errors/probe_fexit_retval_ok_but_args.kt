// bpftrace 0.17: FATAL: Invalid probe type made it to attachpoint parser
fexit:vfs_read { @x = args->nope; }
