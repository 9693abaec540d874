// bpftrace 0.17: ERROR: syntax error, unexpected end of file, expecting }
BEGIN {
  printf("hi\n");
