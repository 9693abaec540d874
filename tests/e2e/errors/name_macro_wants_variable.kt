// bpftrace 0.17: ERROR: syntax error (no macros)
macro inc($v) { $v++ }
BEGIN { @x = 1; inc(@x); }
