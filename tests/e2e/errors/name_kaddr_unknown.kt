// bpftrace 0.17: ERROR: Failed to compile: Failed to resolve kernel symbol: no_such_symbol_xyz
BEGIN { printf("%x\n", kaddr("no_such_symbol_xyz")); }
