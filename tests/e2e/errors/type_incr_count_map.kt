// bpftrace 0.17: ERROR: The ++ operator can not be used on expressions of type 'count'
BEGIN { @x = count(); @x++; }
