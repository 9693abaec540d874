// bpftrace 0.17: ERROR: Struct/union of type 'struct task_struct' does not contain a field named 'pidd'
BEGIN { $x = curtask->pidd; }
