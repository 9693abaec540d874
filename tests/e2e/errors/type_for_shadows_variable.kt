// bpftrace 0.17: ERROR: syntax error, unexpected for (0.26: the loop variable may not shadow one)
BEGIN { @m[1] = 1; $kv = 5; for ($kv : @m) { } }
