"""
An asyncio Protocol echo over TLS (the stdlib ssl module), for context in bench/tls.py.

Uses the server context asyncio users usually write: ssl.create_default_context for
servers, the certificate chain, nothing else (OpenSSL's defaults: TLS 1.2+, session
tickets on). Usage: asyncio_ssl_echo.py CERT KEY; prints its port on stdout; SIGTERM
ends it.
"""

import asyncio
import signal
import ssl
import sys


class Echo(asyncio.Protocol):
    """Writes every chunk it receives straight back."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def main(cert: str, key: str) -> None:
    """Listen on an ephemeral loopback port with TLS, announce it, serve until SIGTERM."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    server = await loop.create_server(Echo, "127.0.0.1", 0, ssl=context)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await stop


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
