// bpftrace 0.17: ERROR: cpu-clockz is not a software probe
software:cpu-clockz:1000 { }
