"""The whole suite in one process: C{twistd -n netsuite} (see L{netsuite.suite.tap})."""

__all__: list[str] = []
