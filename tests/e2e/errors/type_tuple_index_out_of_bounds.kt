BEGIN { $t = (1, "a"); print($t[1 + 1]); }
