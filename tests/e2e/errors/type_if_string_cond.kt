// bpftrace 0.17: ERROR: Invalid condition in if(): string
BEGIN { if (comm) { exit(); } }
