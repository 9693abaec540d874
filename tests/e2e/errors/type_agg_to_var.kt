// bpftrace 0.17: ERROR: count() should be directly assigned to a map
BEGIN { $x = count(); }
