iter:task:list { printf("%d\n", ctx->task->pid); }
