// bpftrace 0.17: ERROR: end of file during comment
BEGIN { /* a comment
  exit();
}
