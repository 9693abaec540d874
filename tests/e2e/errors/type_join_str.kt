// bpftrace 0.17: ERROR: () only supports int or pointer arguments (string provided)
BEGIN { join(comm); }
