// bpftrace 0.17: ERROR: strncmp() expects a integer literal (string provided)
BEGIN { if (strncmp(comm, "a", "b")) { exit(); } }
