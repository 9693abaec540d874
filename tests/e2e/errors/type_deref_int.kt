// bpftrace 0.17: ERROR: The dereference operator can not be used on expressions of type 'string[16]'
BEGIN { $x = *comm; }
