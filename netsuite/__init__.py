"""
netsuite: network protocol servers on Twisted (echo, chat, UDP, HTTP), each a twistd
plugin, each able to speak hardened TLS.

The package root only names the version; services live in their own sub-packages
(L{netsuite.echo}, ...) and the shared parts in small modules (L{netsuite.tls._contexts},
L{netsuite.limits._policy}, L{netsuite.twistd._endpoints}, L{netsuite.stream._door}).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
