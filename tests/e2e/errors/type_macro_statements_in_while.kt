// bpftrace 0.17: ERROR: syntax error (no macros)
macro dbl(x) { let $t = x; $t * 2 }
BEGIN { $i = 0; while (dbl($i) < 6) { $i++ } }
