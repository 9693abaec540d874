xdp:veth* { @ = count(); }
