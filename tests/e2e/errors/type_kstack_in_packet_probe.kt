tc:eth0:ingress { @[kstack] = count(); }
