// bpftrace 0.17: ERROR: Unknown function: getopt
BEGIN { @x = getopt("n", 1); @y = getopt("n", "one"); }
