// bpftrace 0.17: ERROR: BEGIN probe type requires 0 arguments
BEGIN:foo { exit(); }
