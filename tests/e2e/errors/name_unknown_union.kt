// bpftrace 0.17: ERROR: Unknown identifier: 'union nosuch_union'
BEGIN { $x = sizeof(union nosuch_union); }
