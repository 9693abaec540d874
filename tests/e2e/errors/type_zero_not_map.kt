// bpftrace 0.17: ERROR: zero() expects a map to be provided
BEGIN { zero(1); }
