tc:an_interface_name:egress { @ = count(); }
