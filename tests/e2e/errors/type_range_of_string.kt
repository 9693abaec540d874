// bpftrace 0.17: ERROR: syntax error, unexpected for
BEGIN { for ($i : 0.."ten") { } }
