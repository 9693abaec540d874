// syscount.kt: count system calls by process name until Ctrl-C.
// Usage: kt examples/syscount.kt            (every process)
//        kt examples/syscount.kt -c 'CMD'   (only CMD: the predicate below uses cpid when set)

BEGIN
{
	printf("Counting syscalls... Hit Ctrl-C to end.\n");
}

tracepoint:raw_syscalls:sys_enter
/cpid == 0 || pid == cpid/
{
	@syscalls[comm] = count();
}

END
{
	printf("\nTop syscalls by process:\n");
}
