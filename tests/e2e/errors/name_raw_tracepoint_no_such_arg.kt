rawtracepoint:sched_process_exec { print(args.nosuch); }
