"""BPF helper function ids (include/uapi/linux/bpf.h, ___BPF_FUNC_MAPPER; kernel-facts §4): the
compiler's calls and the few instructions the runtime assembles itself (watchpoint arming)."""

from enum import IntEnum


class Helper(IntEnum):
    map_lookup_elem = 1
    map_update_elem = 2
    map_delete_elem = 3
    probe_read = 4
    ktime_get_ns = 5
    get_prandom_u32 = 7
    get_smp_processor_id = 8
    get_current_pid_tgid = 14
    get_current_uid_gid = 15
    get_current_comm = 16
    skb_load_bytes = 26          # tc: bytes of the packet (compiler/packet_probes.py)
    get_stackid = 27
    get_numa_node_id = 42
    get_current_task = 35
    get_current_cgroup_id = 80
    probe_read_str = 45
    override_return = 58
    send_signal = 109
    d_path = 147
    probe_read_user = 112
    probe_read_kernel = 113
    probe_read_user_str = 114
    probe_read_kernel_str = 115
    jiffies64 = 118
    ktime_get_boot_ns = 125
    ringbuf_output = 130
    get_current_task_btf = 158
    get_func_ip = 173
    get_attach_cookie = 174
    for_each_map_elem = 164      # 5.13: `for ($kv : @m)` (compiler/codegen/loops.py)
    loop = 181                   # 5.17: `for ($i : a..b)`
    map_lookup_percpu_elem = 195  # 5.19: a count()/sum() element's value on one CPU
    xdp_load_bytes = 189         # 5.18: xdp's bytes of the packet
    ktime_get_tai_ns = 208     # 6.1: tseries() epochs (TAI: intervals start on wall-clock boundaries)
