// bpftrace 0.17: ERROR: syntax error, unexpected for (0.26 refuses hist maps in a for loop)
BEGIN { @h[1] = hist(5); for ($kv : @h) { print($kv.0); } }
