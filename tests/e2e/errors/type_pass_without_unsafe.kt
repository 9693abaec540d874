tc:eth0:egress { pass(); }
