// bpftrace 0.17: ERROR: END probe type requires 0 arguments
END:now { }
