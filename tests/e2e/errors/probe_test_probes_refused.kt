test:okay { print("x"); }
