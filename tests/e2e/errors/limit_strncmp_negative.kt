// bpftrace 0.17: ERROR: Builtin strncmp requires a non-negative size
BEGIN { if (strncmp(comm, "a", -1)) { exit(); } }
