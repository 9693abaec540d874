// bpftrace 0.17: error: <unknown>:0:0: in function BEGIN i64 (i8*): Looks like the BPF stack limit of 512 bytes is exceeded. Please move large on stack variables into 
BEGIN { @a = (comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm); }
