tc:eth0:in { @ = count(); }
