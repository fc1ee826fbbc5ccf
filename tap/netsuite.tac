"""
`twistd -ny tap/netsuite.tac`: the whole netsuite suite on its built-in defaults
(loopback only), the same as `twistd -n netsuite`.

Edit ARGS to change it, with the options of `twistd netsuite --help`, e.g.
ARGS = ["--no-echo", "--chat-args", "--listen tcp:7777:interface=127.0.0.1 --history 500"].
"""

from twisted.application import service

from netsuite.suite import tap as suite_tap

ARGS: list[str] = []

application = service.Application("netsuite")
options = suite_tap.Options()
options.parseOptions(ARGS)
suite_tap.makeService(options).setServiceParent(application)
