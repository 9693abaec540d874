let @starts = lruhash(1024);
let @counts = hash(100);
tracepoint:syscalls:sys_enter_read { @starts[tid] = nsecs; @counts[comm] = count(); }
