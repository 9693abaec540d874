BEGIN { @t = tseries("a", 1000000, 5); }
