// bpftrace 0.17: ERROR: syntax error, unexpected variable, expecting }
BEGIN {
  $x = 1
  $y = 2;
}
