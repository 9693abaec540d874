bench:count { @b = count(); }
