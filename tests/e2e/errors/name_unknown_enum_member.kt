// bpftrace 0.17: ERROR: Unknown identifier: 'C'
enum E { A, B }
BEGIN { $x = C; }
