BEGIN { @t = tseries(1, 0, 5); }
