// kt-args: no_such_script.kt
// bpftrace 0.17: ERROR: failed to open file 'no_such_script.kt': No such file or directory
BEGIN { exit(); }
