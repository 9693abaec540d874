// bpftrace 0.17: ERROR: Ternary operator must return the same type: have 'integer' and 'string'
BEGIN { $x = pid ? 1 : "a"; }
