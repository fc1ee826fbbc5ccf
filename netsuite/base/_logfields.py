"""
The structured fields every connection's log events carry, built once here.

Why: an operator greps one connection's story (C{conn=17}), a log shipper filters by
service and door, and a refusal says which limit refused. Every door logs with the same
names, so a query written for the echo door works for the IRC door:

  - C{service} (C{"echo"}, C{"chat"}, C{"web"}) and C{door} (C{"tcp"}, C{"line"},
    C{"irc"}, C{"ws"}, C{"http"}, C{"udp"}, C{"dtls"});
  - C{conn}: a connection id, a counter unique within the process;
  - C{peer}: the peer as logs print it (C{tcp 127.0.0.1:51234});
  - over TLS, once the handshake is done: C{tls_version}, C{cipher}, C{alpn} and
    C{client_identity} (the verified client certificate's name, or L{None});
  - on a refusal: C{limit} and C{limit_value} (C{"max-per-ip"}, C{8});
  - on a failed TLS handshake: C{tls_error} (C{"unsupported protocol"}).

No Twisted transport type is imported: the TLS fields are read through the public
methods Twisted's TLS transport has (C{getHandle}, C{negotiatedProtocol}).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from twisted.python.failure import Failure

__all__ = ["close_reason", "door_fields", "next_conn_id", "split_name", "tls_fields"]

_ids = itertools.count(1)


def next_conn_id() -> int:
    """A new connection id: 1, 2, 3... unique within this process (short to grep)."""
    return next(_ids)


def split_name(name: str, default_door: str) -> tuple[str, str]:
    """C{"chat/irc"} -> C{("chat", "irc")}; C{"echo"} -> C{("echo", default_door)}."""
    service, _, door = name.partition("/")
    return service, door or default_door


def door_fields(name: str, default_door: str, conn: int, peer: str) -> dict[str, Any]:
    """The fields of every event of one connection (see the module's docstring)."""
    service, door = split_name(name, default_door)
    return {"service": service, "door": door, "conn": conn, "peer": peer}


def tls_fields(
    transport: Any, identity: Callable[[Any], str | None] | None = None
) -> dict[str, Any]:
    """
    C{tls_version}, C{cipher}, C{alpn}, C{client_identity} of a TLS transport whose
    handshake completed; C{{}} for anything else (plain TCP, a test transport).

    @param identity: maps the peer certificate to the client's identity
        (L{netsuite.tls._contexts.peer_identity}; this layer cannot import it).
    """
    get_handle = getattr(transport, "getHandle", None)
    if get_handle is None or not hasattr(transport, "getPeerCertificate"):
        return {}
    try:
        handle = get_handle()
        version = handle.get_protocol_version_name()
        cipher = handle.get_cipher_name()
    except Exception:  # not an OpenSSL connection (a TCP socket's handle), or gone
        return {}
    if not isinstance(version, str):
        return {}
    alpn = getattr(transport, "negotiatedProtocol", None)
    client = None
    if identity is not None:
        try:
            client = identity(transport.getPeerCertificate())
        except Exception:
            client = None
    return {
        "tls_version": version,
        "cipher": cipher,
        "alpn": alpn.decode("ascii", "replace") if isinstance(alpn, bytes) else alpn,
        "client_identity": client,
    }


def close_reason(reason: Failure, handshake_done: bool = False) -> tuple[str, dict[str, Any]]:
    """
    Why a connection ended, readable, and its fields: a TLS handshake failure reads
    C{TLS handshake failed: unsupported protocol} (field C{tls_error}) rather than
    pyOpenSSL's C{[('SSL routines', '', 'unsupported protocol')]}; a TLS error after the
    handshake reads C{TLS error: ...}.
    """
    value = reason.value
    kind = type(value)
    if kind.__module__ == "OpenSSL.SSL" and kind.__name__ == "Error":  # not imported here
        errors = value.args[0] if value is not None and value.args else None
        texts: list[str] = []
        if isinstance(errors, list):
            for item in errors:
                if isinstance(item, tuple) and item:
                    texts.append(str(item[-1]))
        text = "; ".join(t for t in texts if t) or str(value)
        what = "TLS error" if handshake_done else "TLS handshake failed"
        return f"{what}: {text}", {"tls_error": text}
    return reason.getErrorMessage(), {}
