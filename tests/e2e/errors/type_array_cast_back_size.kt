BEGIN { $a = (uint8[8])12345; print((uint32)$a); }
