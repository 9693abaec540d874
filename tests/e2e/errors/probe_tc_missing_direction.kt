// bpftrace 0.17: FATAL: Invalid probe type made it to attachpoint parser
tc:eth0 { @ = count(); }
