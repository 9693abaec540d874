tc:"":ingress { @ = count(); }
