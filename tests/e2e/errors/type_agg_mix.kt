// bpftrace 0.17: ERROR: Type mismatch for @x: trying to assign value of type 'sum' when map already contains a value of type 'count
BEGIN { @x = count(); }
END { @x = sum(1); }
