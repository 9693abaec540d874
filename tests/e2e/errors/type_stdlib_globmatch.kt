// bpftrace 0.17: ERROR: Unknown function: globmatch
BEGIN { if (globmatch("abc", "a*")) { exit(); } }
