"""SSRF guard: which addresses the crawler may connect to.

The fetcher checks every address a host resolves to (and every redirect hop) with
`AddressPolicy.refusal`; `literal_address` tells whether a URL's host is already an IP
literal, in any of the spellings libc's inet_aton and browsers accept, so that
"http://0x7f.1/" is judged as 127.0.0.1 before any connection is tried.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata endpoints of the major clouds: AWS/GCP/Azure/DigitalOcean/OpenStack,
# AWS ECS task metadata, AWS time sync, AWS IPv6 IMDS, Alibaba Cloud, Oracle Cloud.
CLOUD_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.169.123",
        "fd00:ec2::254",
        "fd00:ec2::123",
        "100.100.100.200",
        "192.0.0.192",
    )
)

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # CGNAT, RFC 6598
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d form
_NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")

# Dots IDNA mapping turns into "." before a browser parses a host (UTS #46).
_DOT_EQUIVALENTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


class SsrfRefused(Exception):
    """A URL's host is, or resolves to, an address the crawler must not connect to."""

    def __init__(self, host: str, address: IPAddress, reason: str) -> None:
        super().__init__(f"refused to connect to {host} ({address}): {reason}")
        self.host = host
        self.address = address
        self.reason = reason


class AddressPolicy:
    """Refuses every address that is not public unicast, except inside the allowed networks."""

    def __init__(self, allowed_networks: Sequence[str] = ()) -> None:
        self.allowed_networks: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in allowed_networks
        )

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` is refused, or None when the crawler may connect to it."""
        if any(address in network for network in self.allowed_networks):
            return None
        embedded = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
        if embedded is not None:
            return self.refusal(embedded)
        return _category(address)

    def check(self, host: str, address: IPAddress) -> None:
        """Raise SsrfRefused unless the crawler may connect to `address` (resolved from `host`)."""
        reason = self.refusal(address)
        if reason is not None:
            raise SsrfRefused(host, address, reason)


def _category(address: IPAddress) -> str | None:
    if address in CLOUD_METADATA_ADDRESSES:
        return "cloud-metadata"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private or address in _SHARED_ADDRESS_SPACE or address in _SITE_LOCAL:
        return "private"
    if not address.is_global:
        return "not-global"
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and would reach: IPv4-mapped, IPv4-compatible,
    6to4, NAT64 (well-known and local-use prefixes) or Teredo (its client)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in prefix for prefix in _NAT64_PREFIXES):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # "::" and "::1" are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address `host` denotes when it is an IP literal, else None (a name to resolve).

    Accepts bracketed IPv6 (with or without a zone), IPv4-mapped IPv6, and IPv4 the way the
    WHATWG URL standard and inet_aton read it: one to four parts, each decimal, octal (leading
    0) or hex (0x), the last part filling the remaining bytes ("127.1", "2130706433",
    "0177.0.0.1", "0x7f.0.0.1"), with an optional trailing dot and full-width characters.
    """
    text = unicodedata.normalize("NFKC", host).translate(_DOT_EQUIVALENTS).strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ipaddress.AddressValueError:
            return None
    return _ipv4_literal(text)


def _ipv4_literal(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    *leading, last = [number for number in numbers if number is not None]
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _ipv4_number(part: str) -> int | None:
    if part.startswith("0x"):
        digits, base = part[2:], 16
        if digits == "":
            return 0
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if not digits or not all(char in "0123456789abcdef"[:base] for char in digits):
        return None
    return int(digits, base)
