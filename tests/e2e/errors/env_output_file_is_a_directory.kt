// kt-args: -o . {file}
// bpftrace 0.17: ERROR: Failed to open output file: ".": Is a directory
BEGIN { printf("hello\n"); exit(); }
