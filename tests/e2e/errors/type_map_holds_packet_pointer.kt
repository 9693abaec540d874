xdp:eth0 { @p[pkt + 14] = count(); }
