// bpftrace 0.17: ERROR: delete() expects a map to be provided
BEGIN { $x = 1; delete($x); }
