// kt-args: {file} -- --nope=1
// bpftrace 0.17: (no named arguments: --nope=1 is $1)
BEGIN { printf("%d\n", getopt("yes", 1)); exit(); }
