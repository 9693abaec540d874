"""The kernel ABI layer: constants, ctypes structs, the one module that makes system calls,
and owned file descriptors. Nothing above this package calls syscall() directly."""
