"""Who is voting, as far as limits and duplicate checks need to know: a network.

The address itself is never stored or logged; it is reduced to a network here
and then hashed with a rotating key (poll_service/store/keys.py).
"""

from __future__ import annotations

import ipaddress


def network_of(address: str) -> str:
    """The part of an address that identifies a network: all of IPv4, /64 of IPv6.

    An IPv6 client can pick any address in its /64, so the whole /64 counts as
    one voter network.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
