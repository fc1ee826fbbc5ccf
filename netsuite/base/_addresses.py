"""
How netsuite names a peer: the key it is counted under and the text logs show.

Every layer needs these (limits count by peer, logs print it, DTLS keys sessions by it),
so they live here, below all of them, once.
"""

from __future__ import annotations

from twisted.internet.interfaces import IAddress

__all__ = ["describe_address", "peer_key"]


def peer_key(addr: IAddress) -> str:
    """The key a peer is counted under: its IP address, or C{"local"} for UNIX sockets."""
    host = getattr(addr, "host", None)
    return host if isinstance(host, str) else "local"


def describe_address(addr: IAddress) -> str:
    """C{tcp 127.0.0.1:7007}, C{tcp [::1]:7007}, C{unix /run/x.sock}: for logs and humans."""
    host = getattr(addr, "host", None)
    port = getattr(addr, "port", None)
    kind = getattr(addr, "type", None)
    if host is not None and port is not None:
        scheme = "udp" if kind == "UDP" else "tcp"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme} {shown}:{port}"
    name = getattr(addr, "name", None)
    if name is not None:
        return f"unix {name.decode() if isinstance(name, bytes) else name}"
    return str(addr)
