self:signal:SIGINT { print("bye"); }
