"""
A bare twisted.web Resource answering a small JSON body, port on stdout: the baseline
that bench/web.py holds netsuite-web's /api/health against (the issue's target: at least
1.0x this on JSON).

Why this shape: it is what a Twisted user writes first (a leaf Resource under the stock
Site, every Site default, so its access line goes to Twisted's global log, which nothing
observes here), and so the least a framework on top of Twisted can cost per request.

Usage: bare_twisted_json.py   (listens on 127.0.0.1, an ephemeral port; prints it)
"""

import sys

from twisted.internet import reactor
from twisted.web.resource import Resource
from twisted.web.server import Site

BODY = b'{"status":"ok"}'


class Health(Resource):
    """Every path answers the same JSON body."""

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"Content-Type", b"application/json")
        return BODY


def main() -> None:
    """Listen, print the port, run."""
    port = reactor.listenTCP(0, Site(Health()), interface="127.0.0.1")
    sys.stdout.write(f"{port.getHost().port}\n")
    sys.stdout.flush()
    reactor.run()


if __name__ == "__main__":
    main()
