// bpftrace 0.17 accepts this script
BEGIN { while ("a") { exit(); } }
