// bpftrace 0.17: ERROR: The array index operator [] can only be used on arrays and pointers
BEGIN { $s = "abc"; print($s["x"]); }
