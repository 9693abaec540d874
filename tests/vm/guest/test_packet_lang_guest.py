"""Packet programs on 6.1's verifier: the tc and xdp programs kt compiles (bpf_skb_load_bytes,
bpf_xdp_load_bytes since 5.18, drop()/pass() through loop callbacks) load and run on crafted
frames with BPF_PROG_TEST_RUN as on the host (tests/e2e/test_packet_lang.py, whose cases these
are)."""

from __future__ import annotations

import pytest

from tests.e2e import test_packet_lang as host

pytestmark = pytest.mark.kernel


def test_headers_of_ipv4_ipv6_icmp_and_arp():
    host.test_headers_of_ipv4_ipv6_icmp_and_arp()


def test_xdp_sees_the_same_headers():
    host.test_xdp_sees_the_same_headers()


def test_ipv4_options_fragments_and_truncated_frames():
    host.test_ipv4_options_fragments_and_truncated_frames()


def test_pkt_bytes_constant_variable_and_out_of_range():
    host.test_pkt_bytes_constant_variable_and_out_of_range()


def test_default_verdict_and_drop_and_pass():
    host.test_default_verdict_lets_packets_pass_on_every_path()
    host.test_drop_and_pass()


def test_drop_inside_a_loop_and_a_large_chunked_body():
    host.test_drop_inside_a_loop_and_a_large_chunked_body()
