xdp:eth0 / proto == 17 / { drop(); }
