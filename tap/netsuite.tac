"""
`twistd -ny tap/netsuite.tac`: the netsuite suite on its built-in defaults (loopback only).

For now the suite is the echo service (TCP and UDP on 127.0.0.1:7007); each service added
later joins it here. Edit ARGS to change listeners or limits, with the same options as
`twistd netsuite-echo --help`.
"""

from twisted.application import service

from netsuite.echo import tap as echo_tap

ARGS: list[str] = []

application = service.Application("netsuite")
options = echo_tap.Options()
options.parseOptions(ARGS)
echo_tap.makeService(options).setServiceParent(application)
