// bpftrace 0.17: ERROR: str() expects an integer or a pointer type as first argument (string[16] provided)
BEGIN { $s = str(comm, comm); }
