"""The addressing plan and node selection (no root needed)."""

from __future__ import annotations

import ipaddress

import pytest

from orbemu.errors import InputError
from orbemu.netemu import AddressPlan, select_nodes
from orbemu.netemu.addressing import check_run_name


def test_addresses_follow_the_documented_plan():
    plan = AddressPlan()
    assert plan.address("ground", 0) == "10.64.0.1"
    assert plan.address("ground", 255) == "10.64.1.0"
    assert plan.address("sat", 0) == "10.96.0.1"
    assert plan.address("sat", 10_394) == str(ipaddress.IPv4Address("10.96.0.1") + 10_394)
    assert plan.router == "10.127.255.254"
    assert plan.prefix_len == 10


def test_ground_and_satellite_addresses_never_collide_and_stay_in_the_prefix():
    plan = AddressPlan("10.200.0.0/16")
    net = ipaddress.IPv4Network("10.200.0.0/16")
    ground = {plan.address("ground", g) for g in range(0, 32_000, 97)}
    sats = {plan.address("sat", s) for s in range(0, 32_000, 89)}
    assert not ground & sats
    for a in ground | sats:
        addr = ipaddress.IPv4Address(a)
        assert addr in net and addr not in (net.network_address, net.broadcast_address)
        assert a != plan.router


def test_a_node_that_does_not_fit_is_refused():
    with pytest.raises(InputError, match="does not fit"):
        AddressPlan("10.0.0.0/22").address("sat", 600)


@pytest.mark.parametrize("prefix", ["10.64.0.0/23", "10.64.0.1/10", "fd00::/8", "nonsense"])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(InputError):
        AddressPlan(prefix)


def test_namespace_names_and_macs():
    node = AddressPlan().node("a1", "sat", 3, "SAT-3", number=40)
    assert node.netns == "oe-a1-s40"
    assert node.address == "10.96.0.41"
    assert node.mac == bytes([0x02, 0x6F, 0x65, 96, 0, 41])
    assert node.topology_node(100) == 3
    g = AddressPlan().node("a1", "ground", 2, "paris")
    assert g.topology_node(100) == 102 and g.netns == "oe-a1-g2"


@pytest.mark.parametrize("run", ["", "UPPER", "toolong12", "a-b", "a b"])
def test_run_names_are_checked(run):
    with pytest.raises(InputError, match="run name"):
        check_run_name(run)


def test_selectors(shell, sites):
    nodes = select_nodes(shell, sites, ["site:london", "ground:new-*", "sat:WALKER-P00-*"],
                         run="x")
    names = [n.name for n in nodes]
    assert names[:2] == ["london", "new-york"]
    assert all(n.kind == "sat" for n in nodes[2:]) and len(nodes) == 2 + 22
    # repeats are dropped, order is kept
    again = select_nodes(shell, sites, ["paris", "site:*"], run="x")
    assert [n.name for n in again] == ["paris", "london", "new-york", "chicago"]
    # numbers from the whole scenario
    numbered = select_nodes(shell, sites, ["paris"], run="x", ground_numbers=[10, 11, 12, 13])
    assert numbered[0].index == 2 and numbered[0].address == "10.64.0.13"


def test_selectors_that_match_nothing_say_so(shell, sites):
    with pytest.raises(InputError, match="matches no node") as info:
        select_nodes(shell, sites, ["site:londn"], run="x")
    assert "london" in str(info.value)
    with pytest.raises(InputError, match="unknown kind"):
        select_nodes(shell, sites, ["planet:mars"], run="x")
