// kt-args: {file} 0
// bpftrace 0.17: ERROR: unroll minimum value is 1
BEGIN { unroll($1) { printf("x\n"); } }
