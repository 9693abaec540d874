// bpftrace 0.17: error: Looks like the BPF stack limit of 512 bytes is exceeded. Please move large on stack variables into BPF per-cpu array map.
BEGIN { @x[comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm,
        comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm, comm] = 1; }
