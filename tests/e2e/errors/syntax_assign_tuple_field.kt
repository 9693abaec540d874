// bpftrace 0.17: ERROR: Tuples are immutable once created. Consider creating a new tuple and assigning it instead.
BEGIN { $t = (1, 2); $t.0 = 3; }
