// kt-args: --unsafe {file}
kprobe:vfs_read { drop(); }
