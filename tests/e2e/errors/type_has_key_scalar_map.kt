// bpftrace 0.17: ERROR: Unknown function: has_key
BEGIN { @s = 1; if (has_key(@s, 0)) { } }
