// bpftrace 0.17: ERROR: Struct/union of type 'struct mm_struct' does not contain a field named 'nope'
BEGIN { $x = curtask->mm->nope; }
