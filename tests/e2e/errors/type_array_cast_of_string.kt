BEGIN { $a = (uint8[4])"abc"; }
