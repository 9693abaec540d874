// bpftrace 0.17: ERROR: Unknown identifier: 'struct nosuch_thing'
BEGIN { $x = sizeof(struct nosuch_thing); }
