// opensnoop.kt: print every file opened, with the process that opened it.
// Usage: kt examples/opensnoop.kt [PID]      ($1: only this pid; 0 or absent: every process)
//        kt examples/opensnoop.kt -c 'CMD'   (only CMD)

BEGIN
{
	printf("%-6s %-16s %s\n", "PID", "COMM", "PATH");
}

tracepoint:syscalls:sys_enter_openat
/($1 == 0 && cpid == 0) || pid == $1 || pid == cpid/
{
	printf("%-6d %-16s %s\n", pid, comm, str(args->filename));
}
