// bpftrace 0.17: ERROR: syntax error, unexpected {, expecting }
BEGIN {
  if (1) {
    exit();
}
END { }
