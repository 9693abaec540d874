xdp:"eth 0" { @ = count(); }
