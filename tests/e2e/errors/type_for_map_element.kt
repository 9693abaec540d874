// bpftrace 0.17: ERROR: syntax error, unexpected for
BEGIN { @m[1] = 1; for ($kv : @m[1]) { } }
