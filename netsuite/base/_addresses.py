"""
How netsuite names a peer: the key it is counted under and the text logs show.

Every layer needs these (limits count by peer, logs print it, DTLS keys sessions by it),
so they live here, below all of them, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the sans-IO DTLS core imports this module
    from twisted.internet.interfaces import IAddress

__all__ = ["describe_address", "host_port", "peer_key", "peer_key_of"]


def host_port(host: str, port: int) -> str:
    """C{192.0.2.1:4433} or C{[::1]:4433}: a host and port as logs show them (and users type)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def peer_key_of(addr: tuple[str, int] | tuple[str, int, int, int]) -> str:
    """
    The key a datagram peer is known by, from its socket address tuple: its host and
    port (L{host_port}). A DTLS session and its cookie are bound to it, and logs show it.
    L{peer_key} is the stream twin, which counts a peer by its host alone.
    """
    return host_port(addr[0], addr[1])


def peer_key(addr: IAddress | None) -> str:
    """
    The key a peer is counted under: its IP address, or C{"local"} for UNIX sockets (and
    for no address, which Twisted's C{buildProtocol} signature allows).
    """
    host = getattr(addr, "host", None)
    return host if isinstance(host, str) else "local"


def describe_address(addr: IAddress | None) -> str:
    """C{tcp 127.0.0.1:7007}, C{tcp [::1]:7007}, C{unix /run/x.sock}: for logs and humans."""
    host = getattr(addr, "host", None)
    port = getattr(addr, "port", None)
    kind = getattr(addr, "type", None)
    if host is not None and port is not None:
        scheme = "udp" if kind == "UDP" else "tcp"
        return f"{scheme} {host_port(host, port)}"
    name = getattr(addr, "name", None)
    if name is not None:
        return f"unix {name.decode() if isinstance(name, bytes) else name}"
    return str(addr)
