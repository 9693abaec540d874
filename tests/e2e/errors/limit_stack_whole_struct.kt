// bpftrace 0.17 accepts this script
BEGIN { $t = *curtask; @pid = $t.pid; }
