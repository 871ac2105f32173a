"""Where a webhook URL leads: resolve its host, refuse forbidden addresses, pin the post to the checked one.

The check runs at registration and again before every post, against the addresses the host
resolves to then (DNS can change). The post then connects to the address that was checked, with
the URL's host in the Host header and in TLS (SNI and certificate check), so a second lookup by
the HTTP client cannot lead somewhere else (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any

import httpx

from leadcycle.domain.addresses import Address, forbidden_kind, literal_address
from leadcycle.domain.errors import InvalidInput

ALLOW_SETTING = "LEADCYCLE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES"


class ForbiddenDestination(Exception):
    """The URL's host resolves to an address webhooks are not posted to; the message says which and why."""

    def __init__(self, host: str, address: Address, kind: str) -> None:
        super().__init__(
            f"The URL's host {host} resolves to {address}, a {kind} address: webhooks are not posted to loopback, "
            f"private, link-local, unspecified or multicast addresses (set {ALLOW_SETTING}=true to allow them, "
            "for development)"
        )


async def resolve(host: str, port: int) -> list[Address]:
    """The addresses `host` stands for, in the resolver's order; socket.gaierror when it does not resolve."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip_address(str(info[4][0]).split("%", 1)[0]) for info in found))


async def checked_address(host: str, port: int) -> Address:
    """The address to post to; ForbiddenDestination when any address of the host is forbidden."""
    addresses = await resolve(host, port)
    for address in addresses:
        kind = forbidden_kind(address)
        if kind is not None:
            raise ForbiddenDestination(host, address, kind)
    return addresses[0]


async def check_registration(url: str, allow_private: bool) -> None:
    """InvalidInput on `url` when its host resolves to a forbidden address.

    A host that does not resolve (yet) is accepted: every post checks it again.
    """
    if allow_private:
        return
    try:
        await _checked(httpx.URL(url))
    except ForbiddenDestination as refused:
        raise InvalidInput("url", str(refused)) from refused
    except OSError:  # socket.gaierror: not resolvable now
        return


@dataclass(frozen=True)
class Target:
    """What to send a post to: the URL (its host replaced by the checked address) and what keeps TLS right."""

    url: httpx.URL
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


async def target(url: str, allow_private: bool) -> Target:
    """Where to post `url`: pinned to its checked address unless private addresses are allowed."""
    parsed = httpx.URL(url)
    if allow_private:
        return Target(parsed)
    address = await _checked(parsed)
    if literal_address(parsed.host) is not None:
        return Target(parsed)
    extensions = {"sni_hostname": parsed.raw_host.decode()} if parsed.scheme == "https" else {}
    return Target(parsed.copy_with(host=str(address)), {"host": parsed.netloc.decode()}, extensions)


async def _checked(url: httpx.URL) -> Address:
    return await checked_address(url.host, url.port or (443 if url.scheme == "https" else 80))
