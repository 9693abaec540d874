// bpftrace 0.17: ERROR: Type mismatch for '==': comparing 'unsigned int64' with 'string[4]'
BEGIN { if (pid == "abc") { exit(); } }
