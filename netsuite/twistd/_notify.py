"""
sd_notify(3) without libsystemd: tell the service manager when netsuite is ready.

With C{Type=notify}, systemd starts the units ordered after netsuite (and counts the
start as done) only when the process sends C{READY=1}; C{STOPPING=1} says a stop has
begun. The protocol is one datagram of C{KEY=VALUE} lines to the C{AF_UNIX} socket that
C{NOTIFY_SOCKET} names: a path, or an abstract-namespace name when it starts with C{@}.
Outside systemd C{NOTIFY_SOCKET} is unset and nothing is sent.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ["notify", "notify_address"]


def notify_address(environ: Mapping[str, str]) -> str | None:
    """
    The socket address C{NOTIFY_SOCKET} names, as C{socket.sendto} wants it (a leading
    NUL for the abstract namespace), or L{None} when it is unset or not a unix socket.
    """
    value = environ.get("NOTIFY_SOCKET", "")
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # unset, or a vsock address (vsock:CID:PORT), which netsuite never needs


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """
    Send C{message} (C{"READY=1"}, C{"STOPPING=1"}, C{"STATUS=..."} lines) to the service
    manager. Whether it was sent; never raises, since a server must not stop serving
    because its supervisor went away.
    """
    address = notify_address(os.environ if environ is None else environ)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message.encode("utf-8"), address)
    except OSError:
        return False
    return True
