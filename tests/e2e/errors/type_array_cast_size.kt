BEGIN { $a = (uint8[3])12345; }
