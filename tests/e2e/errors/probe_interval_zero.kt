// bpftrace 0.17 accepts this script
interval:ms:0 { }
