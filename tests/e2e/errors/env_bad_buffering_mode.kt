// kt-args: -B sometimes {file}
// bpftrace 0.17: USAGE: -B must be either 'full', or 'none'.
BEGIN { exit(); }
