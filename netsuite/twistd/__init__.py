"""
The glue between netsuite and twistd: the shared command-line options
(L{netsuite.twistd._options}), the service root and listeners
(L{netsuite.twistd._service}), the listen-description parsers C{nstls:}, C{udp:},
C{systemd:...:type=dgram} and C{dtls:} (L{netsuite.twistd._endpoints}), the lazy plugin
stand-ins (L{netsuite.twistd._lazy_plugins}) and the plugin cache writer
(C{python -m netsuite.twistd.plugincache}).

This C{__init__} imports nothing: C{twisted_plugins/} imports the lazy stand-ins from
here at every C{twistd} start, and that must stay cheap.
"""

__all__: list[str] = []
