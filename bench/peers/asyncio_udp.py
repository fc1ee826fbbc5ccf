"""
An asyncio C{DatagramProtocol} echo, for context next to the Twisted ones.

asyncio reads one datagram per readiness event (an epoll_wait per datagram), into a
256 KiB buffer (its transport's max_size: glibc serves that with an mmap and a munmap per
datagram, 15 us against 1.5 us for recvfrom(8192) here), and sends at once when its
buffer is empty. Textbook, unchanged. Prints its port on stdout; SIGTERM ends it.

With C{--uvloop} the same code runs on uvloop's event loop (C{uvloop.run}, as uvloop's
README writes it): the bench's "uvloop" server.
"""

import asyncio
import importlib
import signal
import sys


class Echo(asyncio.DatagramProtocol):
    """Writes every datagram straight back to its sender."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)


async def main() -> None:
    """Bind an ephemeral loopback port, announce it, and serve until SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    print(transport.get_extra_info("sockname")[1], flush=True)
    try:
        await stop
    finally:
        transport.close()


if __name__ == "__main__":
    # --uvloop: the same code on uvloop's loop, started with uvloop.run as its README does
    uvloop = sys.argv[1:] == ["--uvloop"]
    (importlib.import_module("uvloop").run if uvloop else asyncio.run)(main())
