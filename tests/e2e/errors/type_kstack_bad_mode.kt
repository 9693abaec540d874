// bpftrace 0.17: ERROR: Unknown identifier: 'fancy'
BEGIN { @s[kstack(fancy)] = 1; }
