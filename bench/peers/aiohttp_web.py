"""
aiohttp serving a directory (a static route) and a small JSON handler, port on stdout:
a non-Twisted Python peer for bench/web.py.

Why: it shows what another Python event-loop framework gets on the same machine for the
same two requests. Its defaults: the stock asyncio loop (no uvloop), no access log (aiohttp
logs requests only when logging is configured at INFO, and it is not here), files sent
with sendfile().

Usage: aiohttp_web.py DIR   (listens on 127.0.0.1, an ephemeral port; prints it;
    GET /api/health -> {"status":"ok"}, GET /NAME -> DIR/NAME)
"""

import asyncio
import signal
import sys

from aiohttp import web


async def health(request: web.Request) -> web.Response:
    """The JSON endpoint."""
    return web.json_response({"status": "ok"})


async def serve(directory: str) -> None:
    """Listen, print the port, run until SIGTERM or SIGINT."""
    app = web.Application()
    app.router.add_get("/api/health", health)
    app.router.add_static("/", directory)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sys.stdout.write(f"{runner.addresses[0][1]}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
