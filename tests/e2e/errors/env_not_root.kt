// kt-as: nobody
// bpftrace 0.17: ERROR: bpftrace currently only supports running as the root user.
BEGIN { printf("hello\n"); exit(); }
