// bpftrace 0.17: ERROR: Unknown function: has_key
BEGIN { @m[1, 2] = 1; if (has_key(@m, 1)) { } }
