"""
Setting an OpenSSL context's key-exchange groups, through pyOpenSSL's own binding.

pyOpenSSL is the TLS library under C{twisted.internet.ssl}, so what we borrow from it is
fenced here with Twisted's. Why no public API serves: pyOpenSSL has no call for the
group list (C{Context.set_tmp_ecdh} takes one curve, and Twisted sets P-256 alone);
OpenSSL's C{SSL_CTX_set1_curves_list} is reached through the private cffi binding
C{OpenSSL._util.lib} and the context's private C{_context} pointer.
"""

from __future__ import annotations

from OpenSSL import SSL
from OpenSSL._util import lib as _lib

__all__ = ["PRIVATE_NAMES", "set_groups"]

#: The private names this module relies on, as (object, attribute) pairs the pin test checks.
PRIVATE_NAMES = (
    ("OpenSSL._util", "lib"),
    ("OpenSSL._util.lib", "SSL_CTX_set1_curves_list"),
    ("OpenSSL.SSL.Context", "_context"),
)


def set_groups(ctx: SSL.Context, groups: str) -> bool:
    """Offer the key-exchange C{groups} (C{"X25519:P-256"}); False if OpenSSL refuses them."""
    return bool(_lib.SSL_CTX_set1_curves_list(ctx._context, groups.encode()) == 1)
