// kt-env: BPFTRACE_STRLEN=1000
// bpftrace 0.17: ERROR: 'BPFTRACE_STRLEN' 1000 exceeds the current maximum of 200 bytes.
BEGIN { printf("%s\n", comm); exit(); }
