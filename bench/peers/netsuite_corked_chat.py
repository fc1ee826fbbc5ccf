"""
What-if experiment, not a baseline: netsuite-chat with each member's output corked for
the length of one input chunk, to size the fix that bench/README.md ("chat.py: where
netsuite's time goes") proposes before anyone writes it in netsuite/.

Why: netsuite's chat sends every delivery at once (StreamDoor.write, one socket.send per
member per message), so a chunk of 30 lines to 50 members is 1,500 sends; the naive
Twisted broadcast makes 50 (transport.write coalesces a reactor turn). Here the
installed netsuite runs unchanged except, in this process only, L{Outbox.send} collects
what a member is sent while one C{ChatDoor.data_received} runs and hands it to the real
C{Outbox.send} as one write when the chunk is done: same order, same send-queue bound
(checked at the flush), same options. Not bounded in memory by itself (a 64 KiB chunk of
short lines to 500 members is tens of MB for a moment): a real fix must flush early.

    python bench/peers/netsuite_corked_chat.py [netsuite-chat options]

Logs like twistd on stdout (chat.py reads the port from the "listening" line).
"""

import sys

from twisted.internet import reactor
from twisted.logger import globalLogBeginner, textFileLogObserver

from netsuite.chat import tap
from netsuite.chat._door import ChatDoor
from netsuite.stream._outbox import Outbox

_pending: dict[Outbox, list[bytes]] = {}
_corked = [False]
_send = Outbox.send
_data_received = ChatDoor.data_received


def corked_send(self: Outbox, data: bytes) -> None:
    """While a chunk is being handled, keep the bytes; otherwise send as netsuite does."""
    if _corked[0] and not self.closed:
        _pending.setdefault(self, []).append(data)
        return
    _send(self, data)


def corked_data_received(self: ChatDoor, data: bytes) -> None:
    """Handle one input chunk corked, then give each member its bytes in one write."""
    _corked[0] = True
    try:
        _data_received(self, data)
    finally:
        _corked[0] = False
        pending = list(_pending.items())
        _pending.clear()
        for box, chunks in pending:
            _send(box, b"".join(chunks))


def main() -> None:
    """Parse netsuite-chat's options, start its service, run until SIGTERM."""
    Outbox.send = corked_send  # type: ignore[method-assign]
    ChatDoor.data_received = corked_data_received  # type: ignore[method-assign]
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)])
    options = tap.Options()
    options.parseOptions(sys.argv[1:])
    service = tap.makeService(options)
    service.startService()
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.run()


if __name__ == "__main__":
    main()
