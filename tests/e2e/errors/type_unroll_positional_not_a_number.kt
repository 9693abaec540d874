// kt-args: {file} abc
// bpftrace 0.17: ERROR: $1 used numerically but given "abc"
BEGIN { unroll($1) { printf("x\n"); } }
