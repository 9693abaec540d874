// bpftrace 0.17: ERROR: Can not access index 0 on expression of type 'unsigned int64'
BEGIN { $x = pid.0; }
