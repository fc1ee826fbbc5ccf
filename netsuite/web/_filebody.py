"""
A response body streamed to a request as the connection takes it: a file on disk, or a
cached file's bytes, with literal parts between ranges and gzip on the fly.

Why a producer for bodies we already hold in memory: one C{write} of a 256 KiB body
puts it all in the kernel or in the transport's buffer at once, and a reader that takes
a few bytes a second then pins it there. Measured with 1,000 such readers (Slow Read,
C{slowhttptest -X}, docs/reliability.md "Slow clients"): a loopback socket's send
buffer autotunes to 4 MiB, so the kernel took every byte offered, at about a
microsecond per KiB of the server's CPU, and under that much queued memory the server's
other clients waited 0.4 to 0.7 s (p99). What bounds it here, per connection:

  - L{SEND_LOWAT}, set as C{TCP_NOTSENT_LOWAT} on the socket when a body starts: the
    kernel keeps at most that many bytes not yet sent (plus one segment) and reports
    the socket writable again only below half of it. A fast reader never notices: its
    bytes leave the send queue as soon as they are written.
  - the transport's own buffer bound (C{FileDescriptor.bufferSize}, public): set to 0
    for the length of each of our writes, so that Twisted pauses this producer as soon
    as part of a chunk is left queued and resumes it when the queue is empty; at most
    one chunk waits in our memory beyond what the kernel holds. It is put back at once
    because Twisted reads with it too (C{recv(bufferSize)}: 0 reads as end of file).
    This also keeps C{FileDescriptor.doWrite}'s copy of the unsent remainder (it joins
    what is left on every write while under 128 KiB) to that one chunk.
  - L{SLOW_CHUNK}: the first chunk, and the next after every pause; each chunk after
    it is twice the one before, up to L{FileBody.chunk_size}, so a reader that keeps up
    soon gets big chunks and a slow one never pins more than a small one. Every
    L{FileBody.chunks_per_turn} chunks the producer yields to the reactor.

Over TLS or HTTP/2 the transport is not a TCP connection: the producer is only paused
and resumed by that transport's own rules.
"""

from __future__ import annotations

import contextlib
import socket
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO

from twisted.internet import tcp
from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from twisted.web.server import Request
from zope.interface import implementer

from netsuite._twisted.tcp import direct_transport

__all__ = ["SEND_LOWAT", "SLOW_CHUNK", "FileBody", "bound_connection", "write_bounded"]

#: Bytes the kernel may hold unsent per connection while a body streams
#: (C{TCP_NOTSENT_LOWAT}); without it a loopback socket takes up to 4 MiB.
SEND_LOWAT = 32 * 1024

#: The chunk a reader gets once it has made the producer wait.
SLOW_CHUNK = 16 * 1024

_LOWAT = getattr(socket, "TCP_NOTSENT_LOWAT", None)


def bound_connection(transport: Any, lowat: int = SEND_LOWAT) -> tcp.Connection | None:
    """
    Bound what the kernel queues unsent for a plain TCP C{transport} to C{lowat} bytes;
    return the connection (for L{write_bounded}), or L{None} (nothing changed) for any
    other transport: TLS, HTTP/2 streams, test transports.
    """
    direct = direct_transport(transport)
    if direct is not None and _LOWAT is not None and lowat > 0:
        with contextlib.suppress(OSError):  # not a TCP socket (UNIX), or refused
            direct.getHandle().setsockopt(socket.IPPROTO_TCP, _LOWAT, lowat)
    return direct


def write_bounded(
    direct: tcp.Connection | None, write: Callable[[bytes], None], data: bytes
) -> None:
    """
    C{write(data)} with C{direct}'s buffer bound at 0 meanwhile: if any of C{data} is
    left queued, Twisted pauses the connection's producer now (and resumes it once the
    queue is empty), not only above its usual 64 KiB.
    """
    if direct is None:
        write(data)
        return
    saved = direct.bufferSize
    direct.bufferSize = 0
    try:
        write(data)
    finally:
        direct.bufferSize = saved


@implementer(IPushProducer)
class FileBody:
    """
    Streams parts of an open file (or of a C{BytesIO} over a cached body), and literal
    bytes between them, to a request, as a push producer: it writes while the transport
    takes data, stops when paused, and yields to the reactor every few chunks so one big
    download cannot starve others.

    @param parts: C{bytes} to write as they are, or C{(offset, length)} of the file.
    @param compress: gzip the output on the fly (the parts are then the whole file).
    """

    chunk_size = 65536
    slow_chunk_size = SLOW_CHUNK
    chunks_per_turn = 8

    def __init__(
        self,
        request: Request,
        file: BinaryIO,
        parts: list[bytes | tuple[int, int]],
        clock: IReactorTime,
        compress: bool = False,
    ) -> None:
        self.request = request
        self.file = file
        self.parts = parts
        self.clock = clock
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 31) if compress else None
        self._paused = False
        self._done = False
        self._call: IDelayedCall | None = None
        self._remaining = 0
        self._chunk = self.slow_chunk_size
        self._direct: tcp.Connection | None = None
        #: Times the transport paused this body (a slow reader's sign).
        self.pauses = 0

    def start(self) -> None:
        channel = getattr(self.request, "channel", None)
        self._direct = bound_connection(getattr(channel, "transport", None))
        self.request.registerProducer(self, True)
        self.request.notifyFinish().addErrback(lambda _: self.stopProducing())
        self._schedule()

    def _schedule(self) -> None:
        if self._call is None and not self._done:
            self._call = self.clock.callLater(0, self._run)

    def _next(self) -> bytes | None:
        """The next piece to send, or None at the end."""
        while True:
            if self._remaining:
                data = self.file.read(min(self._chunk, self._remaining))
                # Start small and grow while the reader keeps up (TCP's slow start).
                self._chunk = min(self._chunk * 2, self.chunk_size)
                if not data:  # the file shrank under us: stop short, the client sees it
                    self._remaining = 0
                    return None
                self._remaining -= len(data)
                return data
            if not self.parts:
                return None
            part = self.parts.pop(0)
            if isinstance(part, bytes):
                return part
            offset, self._remaining = part
            self.file.seek(offset)

    def _run(self) -> None:
        self._call = None
        for _ in range(self.chunks_per_turn):
            if self._paused or self._done:
                return
            data = self._next()
            if data is None:
                self._end()
                return
            if self._compressor is not None:
                data = self._compressor.compress(data)
                if not data:
                    continue
            write_bounded(self._direct, self.request.write, data)
        self._schedule()

    def _end(self) -> None:
        request = self.request
        if self._compressor is not None:
            tail = self._compressor.flush()
            if tail:
                request.write(tail)
        self._close()
        request.unregisterProducer()
        request.finish()

    def _close(self) -> None:
        self._done = True
        if self._call is not None:
            self._call.cancel()
            self._call = None
        self.file.close()

    def pauseProducing(self) -> None:
        if not self._paused:
            self.pauses += 1
        self._paused = True
        self._chunk = self.slow_chunk_size

    def resumeProducing(self) -> None:
        self._paused = False
        self._schedule()

    def stopProducing(self) -> None:
        if not self._done:
            self._close()
