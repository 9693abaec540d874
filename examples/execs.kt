// execs.kt: every program executed, with its pid, until Ctrl-C.
// Usage: kt examples/execs.kt              (every process)
//        kt examples/execs.kt -c 'CMD'     (only CMD: the predicate below uses cpid when set)

tracepoint:sched:sched_process_exec
/cpid == 0 || pid == cpid/
{
	printf("%-6d %-16s %s\n", pid, comm, args->filename);
	@execs[comm] = count();
}
