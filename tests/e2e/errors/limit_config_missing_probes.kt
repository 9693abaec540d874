config = { missing_probes = "warn" }
begin { }
