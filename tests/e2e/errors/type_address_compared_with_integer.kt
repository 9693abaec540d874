xdp:eth0 / saddr == 167772161 / { @ = count(); }
