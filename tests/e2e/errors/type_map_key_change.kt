// bpftrace 0.17: ERROR: Argument mismatch for @x: trying to access with arguments: [string[2]] when map expects arguments: [unsigned int64]
BEGIN { @x[1] = 1; }
END { @x["a"] = 1; }
