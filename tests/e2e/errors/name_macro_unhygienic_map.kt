// bpftrace 0.17: ERROR: syntax error (no macros)
macro bump() { @x++ }
BEGIN { @x = 1; bump(); }
