BEGIN { @ = pkt[0]; }
