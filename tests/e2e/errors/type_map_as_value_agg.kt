// bpftrace 0.17: ERROR: Type mismatch for '+': comparing 'avg' with 'int64'
// count(), sum(), min() and max() maps read as integers (bpftrace 0.2x); avg() does not.
BEGIN { @c = avg(1); @y = @c + 1; }
