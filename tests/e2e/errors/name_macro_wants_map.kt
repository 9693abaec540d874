// bpftrace 0.17: ERROR: syntax error (no macros)
macro clear_it(@m) { @m = 0; }
BEGIN { clear_it(1 + 1); }
