// bpftrace 0.17: ERROR: Cannot cast to struct type "struct task_struct"
BEGIN { $x = (struct task_struct)0; }
