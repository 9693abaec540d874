// bpftrace 0.17: ERROR: kretfunc probe type requires 1 or 2 arguments
kretfunc { }
