// bpftrace 0.17: ERROR: Argument mismatch for @x: trying to access with arguments: [unsigned int64, unsigned int64] when map expects arguments: [unsigned int64]
BEGIN { @x[1] = 1; }
END { @x[1, 2] = 1; }
