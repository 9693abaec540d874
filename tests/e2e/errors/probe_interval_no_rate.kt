// bpftrace 0.17: ERROR: interval probe type requires 2 arguments
interval:s { exit(); }
