import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.crawler.domain.ssrf import AddressPolicy, SsrfRefused, embedded_ipv4, literal_address

ip = ipaddress.ip_address
policy = AddressPolicy()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.1.2", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("100.127.255.254", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "cloud-metadata"),
        ("169.254.170.2", "cloud-metadata"),
        ("fd00:ec2::254", "cloud-metadata"),
        ("100.100.100.200", "cloud-metadata"),
        ("192.0.0.192", "cloud-metadata"),
        ("192.0.2.1", "private"),  # documentation range
    ],
)
def test_non_public_addresses_are_refused_with_their_reason(address: str, reason: str) -> None:
    assert policy.refusal(ip(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert policy.refusal(ip(address)) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:169.254.169.254", "cloud-metadata"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:a9fe:a9fe::", "cloud-metadata"),  # 6to4 of 169.254.169.254
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 well-known prefix
        ("64:ff9b:1::a00:1", "private"),  # NAT64 local-use prefix
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_ipv6_addresses_are_judged_by_the_ipv4_they_carry(address: str, reason: str | None) -> None:
    assert embedded_ipv4(ipaddress.IPv6Address(address)) is not None
    assert policy.refusal(ip(address)) == reason


def test_allowed_networks_override_the_refusal_also_through_embeddings() -> None:
    local = AddressPolicy(["127.0.0.0/8", "fd00::/8"])
    assert local.refusal(ip("127.0.0.2")) is None
    assert local.refusal(ip("::ffff:127.0.0.1")) is None
    assert local.refusal(ip("fd00::5")) is None
    assert local.refusal(ip("10.0.0.1")) == "private"
    assert local.refusal(ip("::1")) == "loopback"
    only_one = AddressPolicy(["127.0.0.2/32"])
    assert only_one.refusal(ip("127.0.0.2")) is None
    assert only_one.refusal(ip("127.0.0.1")) == "loopback"


def test_check_raises_with_host_address_and_reason() -> None:
    with pytest.raises(SsrfRefused) as refused:
        policy.check("metadata.google.internal", ip("169.254.169.254"))
    assert refused.value.host == "metadata.google.internal"
    assert refused.value.address == ip("169.254.169.254")
    assert refused.value.reason == "cloud-metadata"
    policy.check("example.com", ip("93.184.216.34"))


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("017700000001", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("127.0.0.1.", "127.0.0.1"),
        ("\uff11\uff12\uff17\uff0e\uff10\u3002\uff10\uff0e\uff11", "127.0.0.1"),  # full-width
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("[fe80::1%eth0]", "fe80::1%eth0"),
    ],
)
def test_literal_address_reads_every_spelling(host: str, address: str) -> None:
    assert literal_address(host) == ip(address)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "localhost",
        "1.2.3.4.5",
        "256.0.0.1",
        "1.2.3.256",
        "127.0.0.0xz",
        "08.0.0.1",
        "0x1g.0.0.1",
        "4294967296",
        "1.16777216",
        "[::1",
        "[not:an:address]",
        "",
        "1..2",
    ],
)
def test_names_and_invalid_literals_are_not_addresses(host: str) -> None:
    assert literal_address(host) is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_literal_address_agrees_with_inet_aton(value: int) -> None:
    address = ipaddress.IPv4Address(value)
    spellings = [
        str(value),
        hex(value),
        ".".join(f"0{octet:o}" for octet in address.packed),
        f"{address.packed[0]}.{int.from_bytes(address.packed[1:], 'big')}",
    ]
    for spelling in spellings:
        assert literal_address(spelling) == address
        assert socket.inet_aton(spelling) == address.packed
