"""
An asyncio Protocol echo server, for context next to the Twisted ones.

asyncio sets TCP_NODELAY on TCP transports itself and writes at once when its buffer is
empty. Prints its port on stdout; SIGTERM ends it.

With C{--uvloop} the same code runs on uvloop's event loop (C{uvloop.run}, as uvloop's
README writes it): the bench's "uvloop" server.
"""

import asyncio
import importlib
import signal
import sys


class Echo(asyncio.Protocol):
    """Writes every chunk it receives straight back."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def main() -> None:
    """Listen on an ephemeral loopback port, announce it, and serve until SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    server = await loop.create_server(Echo, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await stop


if __name__ == "__main__":
    # --uvloop: the same code on uvloop's loop, started with uvloop.run as its README does
    uvloop = sys.argv[1:] == ["--uvloop"]
    (importlib.import_module("uvloop").run if uvloop else asyncio.run)(main())
