// bpftrace 0.17: ERROR: syntax error, unexpected for
BEGIN { for ($kv : @nope) { } }
