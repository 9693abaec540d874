// bpftrace 0.17: ERROR: The array index operator [] can only be used on arrays and pointers, found string.
BEGIN { $s = "abc"; $c = $s[1]; }
