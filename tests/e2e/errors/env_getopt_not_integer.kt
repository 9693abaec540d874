// kt-args: {file} -- --n=abc
// bpftrace 0.17: (no named arguments)
BEGIN { printf("%d\n", getopt("n", 1)); exit(); }
