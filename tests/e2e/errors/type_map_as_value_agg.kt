// bpftrace 0.17: ERROR: Type mismatch for '+': comparing 'count' with 'int64'
BEGIN { @c = count(); @y = @c + 1; }
