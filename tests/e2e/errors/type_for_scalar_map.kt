// bpftrace 0.17: ERROR: syntax error, unexpected for (0.21+: 'for' needs a map with keys)
BEGIN { @s = 1; for ($kv : @s) { print($kv.1); } }
