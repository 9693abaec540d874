BEGIN { $t = (1, "a"); $i = 1; print($t[$i]); }
