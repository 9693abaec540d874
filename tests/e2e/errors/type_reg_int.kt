// bpftrace 0.17: ERROR: reg() expects a string literal (integer provided)
uprobe:/bin/bash:main { $x = reg(1); }
