"""Where a URL the CRM will fetch or post to actually points: shared by the inventory feed's download and
outbound webhooks, so neither can be aimed at the database, Redis or cloud metadata inside the deployment."""

from __future__ import annotations

import ipaddress
import socket


class HostNotFound(Exception):
    """The host name does not resolve."""


def host_addresses(hostname: str, port: int) -> list[str]:
    """Every address the host name resolves to now (a name may resolve to several, and to others later)."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise HostNotFound(hostname) from None
    return [info[4][0].split("%")[0] for info in infos]


def is_public(address: str) -> bool:
    return ipaddress.ip_address(address).is_global


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback
