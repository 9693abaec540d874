// bpftrace 0.17: ERROR: usdt target file '/no/such/file' does not exist or is not executable
usdt:/no/such/file:p:n { }
