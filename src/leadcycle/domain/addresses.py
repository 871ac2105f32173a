"""Which network addresses webhooks may be posted to: a guard against server-side request forgery.

A URL whose host resolves to this server itself, to the private network it sits in, or to the
cloud metadata service (169.254.169.254, link-local) would let whoever registers an endpoint make
the server post into places only the server can reach. Pure classification; resolving a host name
is the delivery code's job (persistence/webhook_addresses.py).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Address = IPv4Address | IPv6Address

# Spelled out rather than `is_private`, whose meaning varies between Python releases and includes
# documentation and benchmarking ranges: RFC 1918 and unique-local (RFC 4193) networks.
_PRIVATE_NETWORKS: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("10.0.0.0/8"),
    IPv4Network("172.16.0.0/12"),
    IPv4Network("192.168.0.0/16"),
    IPv6Network("fc00::/7"),
)


def _private(address: Address) -> bool:
    return any(address.version == network.version and address in network for network in _PRIVATE_NETWORKS)


def forbidden_kind(address: Address) -> str | None:
    """Why webhooks are not posted to this address ("loopback", "private" ...), or None when they may be.

    An IPv4 address mapped into IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it carries.
    """
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("loopback", address.is_loopback),
        ("private", _private(address)),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
    )
    return next((kind for kind, applies in checks if applies), None)


def literal_address(host: str) -> Address | None:
    """The address a URL's host names literally (an IP, without brackets), or None for a host name."""
    try:
        return ip_address(host.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) does not change the address
    except ValueError:
        return None
