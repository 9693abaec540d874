// execs.kt: every program executed, with its parent's pid, for N seconds of events.
// Usage: kt examples/execs.kt

tracepoint:sched:sched_process_exec
{
	printf("%-6d %-16s %s\n", pid, comm, args->filename);
	@execs[comm] = count();
}
