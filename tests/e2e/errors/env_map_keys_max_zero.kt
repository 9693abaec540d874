// kt-env: BPFTRACE_MAP_KEYS_MAX=0
// bpftrace 0.17: ERROR: Env var 'BPFTRACE_MAP_KEYS_MAX' did not contain a valid uint64_t, or was zero-valued.
BEGIN { @x[1] = 1; exit(); }
