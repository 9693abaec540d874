BEGIN { @t = tseries(1, 1000000, 5, "median"); }
