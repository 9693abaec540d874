// bpftrace 0.17: ERROR: Invalid tuple index: 2. Found 2 elements in tuple.
BEGIN { $t = (1, "a"); $x = $t.2; }
