"""
Every use of a private Twisted name, fenced in one module per Twisted subsystem.

Why: where Twisted's public API cannot do what netsuite needs (send at once, one TLS
flight per read, HTTP/2 flow control, a clean exit code), we lean on a private part. Each
module here says why no public API serves and lists the names it relies on in
C{PRIVATE_NAMES}; C{tests/_twisted/test_pins.py} touches every one, so a Twisted upgrade
fails in one named place, and C{tests/_twisted/test_fence.py} fails when a private
Twisted name is used anywhere else in C{netsuite/}. pyOpenSSL, the TLS library under
C{twisted.internet.ssl}, is fenced here too (L{netsuite._twisted.openssl}). How to test a
new Twisted release: C{docs/twisted-upgrades.md}.
"""

__all__: list[str] = []
