// bpftrace 0.17: ERROR: Error attaching probe: rawtracepoint:no_such_raw_tracepoint (found at run time, as here)
rawtracepoint:no_such_raw_tracepoint { @n = count(); }
