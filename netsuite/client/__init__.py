"""
The client side of netsuite: the C{netsuite} console script and its sub-commands.

Each sub-command (C{netsuite echo}, later C{chat}, C{ping}, C{get}, C{certs}) is one module
here, registered by one line in L{netsuite.client.main.SUBCOMMANDS}. A module keeps its
protocol logic sans-IO (plain objects fed bytes and times) and a thin Twisted adapter
around it, so the logic is tested without sockets and the adapter without a network.

Nothing is re-exported: the entry point is C{netsuite.client.main:main}, and binding
C{main} here would shadow the C{netsuite.client.main} module (and break patching it).
"""

__all__: list[str] = []
