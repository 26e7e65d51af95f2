"""Who is calling: the client's address, trusting exactly TRUSTED_PROXY_COUNT proxies.

Behind N proxies that each append the address they received from to `X-Forwarded-For`, the
client is the right-most address that none of our proxies wrote: entry N from the right of
`X-Forwarded-For + [REMOTE_ADDR]`. Anything to its left was written by the client and is never
believed (a client can send any `X-Forwarded-For` it likes). With no proxy trusted (the default),
`X-Forwarded-For` is ignored and the connecting address is the client. Used by the sign-in
throttle and the share-link limits alike.

`X-Forwarded-For` is believed only from a trusted proxy: when the connecting address is one of
FORWARDED_ALLOW_IPS (the list gunicorn trusts with X-Forwarded-Proto, gunicorn.conf.py; addresses
or networks, comma-separated, "*" for any). A client that reaches the web server directly, past
the proxy, is counted by its own address whatever header it sends.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    hops = max(0, int(getattr(settings, "TRUSTED_PROXY_COUNT", 0)))
    if hops == 0 or not from_trusted_proxy(remote):
        return remote
    forwarded = [
        part.strip()
        for part in (request.META.get("HTTP_X_FORWARDED_FOR", "") or "").split(",")
        if part.strip()
    ]
    chain = [*forwarded, remote]
    candidate = chain[-(hops + 1)] if len(chain) > hops else chain[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote  # not an address: a proxy that does not write the header as we expect


def trusted_proxies() -> str:
    """FORWARDED_ALLOW_IPS as gunicorn reads it (the environment, 127.0.0.1 unless set); a
    FORWARDED_ALLOW_IPS setting, if there is one, wins."""
    configured = getattr(settings, "FORWARDED_ALLOW_IPS", None)
    if configured is None:
        configured = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
    return configured if isinstance(configured, str) else ",".join(configured)


def from_trusted_proxy(remote: str) -> bool:
    allowed = _parse(trusted_proxies())
    if allowed is None:
        return True  # "*"
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in allowed)


@lru_cache(maxsize=8)
def _parse(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None:
    """The networks in a FORWARDED_ALLOW_IPS value; None for "*" (any address)."""
    networks = []
    for part in value.split(","):
        part = part.strip()
        if part == "*":
            return None
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            continue  # a name or a unix socket: nothing a TCP client's address can be
    return tuple(networks)


def client_network(request: HttpRequest) -> str:
    """The client's address as a rate limit should count it: an IPv4 address alone, an IPv6
    address by its /64 (one host is given a whole /64 and can pick a new address in it for every
    request)."""
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # ::ffff:a.b.c.d is that IPv4 client
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
