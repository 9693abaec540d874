// bpftrace 0.17: ERROR: syntax error, unexpected for, expecting }
BEGIN { @m[1] = 1; for ($kv : @m) }
