"""
netsuite's reactor for C{twistd --reactor netsuite} and C{trial --reactor netsuite}:
the epoll reactor with a cheaper dispatch per event (docs/reactors.md).
"""

from twisted.application.reactors import Reactor

netsuite = Reactor(
    "netsuite",
    "netsuite._twisted.reactor",
    "epoll, each event dispatched without a legacy log context (Linux; docs/reactors.md)",
)
