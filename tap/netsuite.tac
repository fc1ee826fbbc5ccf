"""
`twistd -ny tap/netsuite.tac`: the whole netsuite suite, the same as `twistd -n netsuite`.

With NETSUITE_CONFIG set, it reads that TOML file (see docs/configuration.md), as
`twistd -n netsuite --config FILE` does; without it, the built-in defaults (loopback only).
ARGS adds options of `twistd netsuite --help`, which override the file, e.g.
ARGS = ["--no-echo", "--chat-args", "--history 500"].
"""

import os

from twisted.application import service

from netsuite.suite import tap as suite_tap

ARGS: list[str] = []

config = os.environ.get("NETSUITE_CONFIG")
application = service.Application("netsuite")
options = suite_tap.Options()
options.parseOptions([*(["--config", config] if config else []), *ARGS])
suite_tap.makeService(options).setServiceParent(application)
