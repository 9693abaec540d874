xdp:eth0:ingress { @ = count(); }
