// bpftrace 0.17: ERROR: days is not an accepted unit of time
interval:days:1 { exit(); }
