// bpftrace 0.17: ERROR: No debuginfo found for /bin/bash
uprobe:/bin/bash:main { @x = retval; }
