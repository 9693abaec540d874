// bpftrace 0.17: ERROR: Invalid type for predicate: string
BEGIN /comm/ { exit(); }
