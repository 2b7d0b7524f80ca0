"""Who is voting, as far as limits and duplicate checks need to know: a network.

The address itself is never stored or logged; it is reduced to a network here
and then hashed with a rotating key (poll_service/store/keys.py).

IPv4: one address is one network. Behind a carrier's shared address (CGNAT,
a campus, a café) many readers look like one voter, so the per-network limits
and duplicate checks treat them as one; the limits are sized for that.

IPv6: an ISP hands a home or a phone a whole prefix, commonly a /56 or a /48,
and the holder can pick any address (and any /64) in it for free. Grouping by
/64 let one /48 vote 65,536 times. The default groups by ``IPV6_NETWORK_PREFIX``
= 48, the largest block one customer normally gets: a customer cannot escape it,
at the price that every customer of an ISP that hands out only /56s inside
one /48 (rare) would share a network. An operator who prefers /56 sets 56 and
keeps a per-/48 ceiling (RATELIMIT_VOTE_IPV6_SITE, see rate_limits.py), so 256
/56s of one /48 still cannot outvote everyone.
"""

from __future__ import annotations

import ipaddress

from flask import Flask, current_app, g, request

UNKNOWN = "unknown"
SITE_PREFIX = 48  # the block one IPv6 customer site normally holds (RFC 6177)
PREFIXES = range(32, 65)  # shorter lumps ISPs together; longer is inside one customer's /64


def init_app(app: Flask) -> None:
    """Refuse to start with a prefix that would make no sense as a voter's network."""
    prefix = app.config["IPV6_NETWORK_PREFIX"]
    if not isinstance(prefix, int) or prefix not in PREFIXES:
        raise ValueError(f"IPV6_NETWORK_PREFIX must be a whole number, 32 to 64, not {prefix!r}")


def network_of(address: str, ipv6_prefix: int = SITE_PREFIX) -> str:
    """The part of an address that identifies one voter's network.

    All of an IPv4 address (also when IPv4-mapped into IPv6); the first
    ``ipv6_prefix`` bits of an IPv6 address.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return UNKNOWN
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{ipv6_prefix}", strict=False))
    return str(ip)


def current_network() -> str:
    """The network of the client of the current request, by this app's prefix.

    Worked out once per request: a vote needs it for its limits, its duplicate
    check and its outcome count."""
    if "network" not in g:
        g.network = network_of(request.remote_addr or "", current_app.config["IPV6_NETWORK_PREFIX"])
    return g.network


def current_site() -> str | None:
    """The IPv6 /48 of the current client when networks are finer than that, else None.

    Used only for the per-/48 ceiling: with a /48 prefix (or IPv4) the network
    already is the site, and no second limit is needed.
    """
    prefix = current_app.config["IPV6_NETWORK_PREFIX"]
    if prefix <= SITE_PREFIX:
        return None
    network = network_of(request.remote_addr or "", SITE_PREFIX)
    return network if ":" in network else None
