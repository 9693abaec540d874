"""tc/xdp probe kinds in the compiler: resolution, sections, attach records, and the located
errors of attach points, packet builtins and drop()/pass() (compiler/packet_probes.py,
compiler/builtins/packet.py)."""

import pytest

from kt.compiler.types import Sym, U64


def meta_of(compiled):
    from kt.runtime.spec import parse_object
    return parse_object(compiled.elf).meta.to_json()


def test_sections_names_and_attach_records(compile_text):
    c = compile_text("tc:eth0:ingress { @a = count(); } tc:veth-a.10:egress { @b = count(); } "
                     "xdp:vb { @c = count(); }")
    meta = meta_of(c)
    assert [(p["section"], p["kind"], p["name"], p["attach"]) for p in meta["probes"]] == [
        ("tc", "tc", "tc:eth0:ingress", {"ifname": "eth0", "direction": "ingress"}),
        ("tc", "tc", "tc:veth-a.10:egress", {"ifname": "veth-a.10", "direction": "egress"}),
        ("xdp", "xdp", "xdp:vb", {"ifname": "vb"}),
    ]


def test_packet_builtins_types(analyse):
    _, sema, _ = analyse("tc:eth0:ingress { @l = len; @i = ifindex; @p = proto; @e = l3proto; @s[saddr] = count(); "
                         "@d[daddr, sport, dport, tcpflags] = count(); @n = ntop(saddr); @b = pkt[3]; "
                         "@w = *(uint16 *)(pkt + 12); }")
    assert all(sema.maps[m].value == U64 for m in ("@l", "@i", "@p", "@e"))
    assert sema.maps["@s"].key == Sym("inet") and sema.maps["@n"].value == Sym("inet")
    assert sema.maps["@b"].value == U64 and sema.maps["@w"].value == U64   # unsigned, widened in maps


@pytest.mark.parametrize("script, message", [
    ("tc:eth0 { }", "tc needs an interface and a direction: 'tc:DEV:ingress' or 'tc:DEV:egress', got 'tc:eth0'"),
    ("tc:eth0:ingress:x { }", "tc needs an interface and a direction"),
    ("tc:eth0:in { }", "tc's direction is 'ingress' or 'egress', not 'in'"),
    ("xdp:eth0:ingress { }", "xdp needs one interface: 'xdp:DEV', got 'xdp:eth0:ingress'"),
    ("xdp:eth* { }", "xdp probes take one interface, not a pattern ('eth*')"),
    ("tc:veth*:egress { }", "tc probes take one interface, not a pattern ('veth*')"),
    ("xdp:a_very_long_name0 { }", "invalid interface name 'a_very_long_name0': it is 17 bytes, more than 15"),
    ('xdp:"a b" { }', "invalid interface name 'a b': it holds '/' or whitespace"),
    ('tc:"":ingress { }', "invalid interface name '': it is empty"),
    ("xdp:a/b { }", "invalid interface name 'a/b': it holds '/' or whitespace"),
])
def test_attach_point_errors(errors, script, message):
    assert message in errors(script)


def test_fifteen_byte_interface_names_are_fine(compile_text):
    meta = meta_of(compile_text("xdp:abcdefghijklmno { }"))
    assert meta["probes"][0]["attach"] == {"ifname": "abcdefghijklmno"}


@pytest.mark.parametrize("name", ["len", "ifindex", "proto", "l3proto", "saddr", "daddr", "sport", "dport",
                                  "tcpflags", "pkt"])
def test_packet_builtins_only_in_packet_probes(errors, name):
    use = "pkt[0]" if name == "pkt" else name
    assert (f"'{name}' is only available in packet probes (tc:DEV:ingress|egress, xdp:DEV), not in BEGIN"
            in errors(f"BEGIN {{ @ = {use}; }}"))


def test_verdicts_need_a_packet_probe_and_unsafe(errors):
    assert "drop() is only available in packet probes (tc:DEV:ingress|egress, xdp:DEV), not in BEGIN" in errors(
        "BEGIN { drop(); }", unsafe=True)
    assert "drop() decides the packet's fate, not just observes it: it needs --unsafe" in errors(
        "xdp:eth0 { drop(); }")
    assert "pass() decides the packet's fate, not just observes it: it needs --unsafe" in errors(
        "tc:eth0:egress { pass(); }")
    assert "drop() takes 0 arguments, got 1" in errors("xdp:eth0 { drop(1); }", unsafe=True)


def test_a_map_cannot_hold_the_packet_pointer(errors):
    assert "a map cannot hold a pointer into the packet (pkt)" in errors("xdp:eth0 { @p = pkt; }")
    assert "a map cannot hold a pointer into the packet (pkt)" in errors("xdp:eth0 { @p[pkt + 1] = count(); }")



def test_addresses_compare_only_with_addresses(errors):
    assert "'==' compares an address (inet) with an address or pton()'s bytes, not int64" in errors(
        "xdp:eth0 / saddr == 5 / { }")
