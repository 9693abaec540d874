tc:eth0:ingress { printf("%s\n", str(pkt + 42)); }
