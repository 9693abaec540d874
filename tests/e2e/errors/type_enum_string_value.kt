// bpftrace 0.17: definitions.h:2:14: error: integer constant expression must have integer type, not 'char[2]'
enum E { A = "x" }
BEGIN { exit(); }
