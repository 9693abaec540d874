// bpftrace 0.17: ERROR: syntax error
interval:500ns { exit(); }
