"""The SSRF guard for webhook URLs.

Standard Webhooks 1.0, "Server side request forgery (SSRF)".

A URL must be ``https://`` and every address its host resolves to must be a public
unicast address: not loopback, private, link-local, shared (CGNAT), reserved,
unspecified or multicast, and not a cloud metadata address (169.254.169.254,
fd00:ec2::254). It is checked when the URL is saved and again before every delivery,
and the delivery then connects to the address that was checked (DNS rebinding cannot
swap it between the check and the connection). ``LOREOS_WEBHOOK_ALLOW_PRIVATE=true``
lifts the address rule and allows ``http://`` (self-hosted LANs and tests).
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

METADATA = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}


class UrlRefused(Exception):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked IP address to connect to


def _allow_private() -> bool:
    return bool(settings.LOREOS_WEBHOOK_ALLOW_PRIVATE)


def address_refusal(address: str) -> str | None:
    """Why this address may not be called, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "a private or reserved address"
    return None


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen = []
    for info in infos:
        address = info[4][0]
        if address not in seen:
            seen.append(address)
    return seen


def url_check(url: str) -> Target:
    """Parse, resolve and check a webhook URL; raise UrlRefused with the reason."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise UrlRefused("is not a valid URL") from None
    allowed = ("https", "http") if _allow_private() else ("https",)
    if parts.scheme not in allowed:
        raise UrlRefused(
            "must be an https:// URL"
            + ("" if _allow_private() else " (http:// only with the private override)")
        )
    if not hostname:
        raise UrlRefused("has no host")
    if parts.username or parts.password:
        raise UrlRefused("must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UrlRefused("has an invalid port") from None
    host = hostname
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise UrlRefused(f"host {host!r} does not resolve") from None
    if not addresses:
        raise UrlRefused(f"host {host!r} does not resolve")
    if not _allow_private():
        for address in addresses:
            why = address_refusal(address)
            if why:
                raise UrlRefused(f"host {host!r} resolves to {why} ({address})")
    return Target(scheme=parts.scheme, host=host, port=port, address=addresses[0])
