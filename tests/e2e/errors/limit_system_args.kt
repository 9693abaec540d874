// bpftrace 0.17: ERROR: system() is an unsafe function being used in safe mode
BEGIN { system("echo %d %d %d %d %d %d %d %d", 1,2,3,4,5,6,7,8); }
