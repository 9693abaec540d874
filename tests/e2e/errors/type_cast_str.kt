// bpftrace 0.17: ERROR: Casts are not supported for type: "string[16]"
BEGIN { $x = (uint32)comm; }
