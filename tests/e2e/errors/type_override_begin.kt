// bpftrace 0.17: ERROR: override() is an unsafe function being used in safe mode
BEGIN { override(1); }
