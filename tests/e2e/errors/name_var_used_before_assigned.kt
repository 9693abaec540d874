// bpftrace 0.17: ERROR: Undefined or undeclared variable: $x
BEGIN {
  $y = $x + 1;
  $x = 1;
}
