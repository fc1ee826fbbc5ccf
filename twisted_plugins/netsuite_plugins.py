"""
netsuite's twistd plugins: declarations only.

Each L{ServiceMaker} names the module holding the service's C{Options} and
C{makeService} (its C{tap.py}); Twisted imports that module only when the plugin runs.
"""

from twisted.application.service import ServiceMaker

netsuiteEcho = ServiceMaker(
    "netsuite echo",
    "netsuite.echo.tap",
    "RFC 862 echo over TCP, UDP and hardened TLS, with limits and backpressure",
    "netsuite-echo",
)

netsuiteChat = ServiceMaker(
    "netsuite chat",
    "netsuite.chat.tap",
    "Chat hub: rooms and nicks shared by a plain-line door (nc) and an IRC door",
    "netsuite-chat",
)

netsuite = ServiceMaker(
    "netsuite",
    "netsuite.suite.tap",
    "The whole suite in one process: echo, chat (line and IRC doors) and web, one hub",
    "netsuite",
)

netsuiteWeb = ServiceMaker(
    "netsuite web",
    "netsuite.web.tap",
    "HTTP/1.1 and HTTP/2: hardened static files, JSON API, /metrics",
    "netsuite-web",
)
