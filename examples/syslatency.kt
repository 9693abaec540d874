// syslatency.kt: time spent in read(2), per process, with min/avg/max, until Ctrl-C.
// Usage: kt examples/syslatency.kt -c 'CMD'

tracepoint:syscalls:sys_enter_read
/cpid == 0 || pid == cpid/
{
	@start[tid] = nsecs;
}

tracepoint:syscalls:sys_exit_read
/@start[tid]/
{
	$ns = nsecs - @start[tid];
	@calls[comm] = count();
	@total_ns[comm] = sum($ns);
	@min_ns[comm] = min($ns);
	@avg_ns[comm] = avg($ns);
	@max_ns[comm] = max($ns);
	delete(@start[tid]);
}
