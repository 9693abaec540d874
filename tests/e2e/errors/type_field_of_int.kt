// bpftrace 0.17: ERROR: Can not access field 'foo' on expression of type 'unsigned int64'
BEGIN { $x = pid->foo; }
