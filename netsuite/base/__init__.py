"""
What every layer of netsuite uses: how a peer is named (L{netsuite.base._addresses}),
logs and their batches (L{netsuite.base.logs}, L{netsuite.base._logbatch}), counters
(L{netsuite.base._metrics}), the datagram endpoint interfaces
(L{netsuite.base.interfaces}) and the lazily chosen reactor (L{netsuite.base._reactor}).

Nothing here imports another netsuite package. This C{__init__} imports nothing, so the
plugin modules that need only the interfaces stay cheap to import.
"""

__all__: list[str] = []
