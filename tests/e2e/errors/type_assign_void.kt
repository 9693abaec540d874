// bpftrace 0.17: ERROR: exit() should not be used in an assignment or as a map key
BEGIN { $x = exit(); }
