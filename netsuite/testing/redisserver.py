"""
A real C{redis-server} for tests: Debian's, on a free loopback port, persistence off.

    server = RedisServer().start()   # skips the test when redis-server is missing
    store = RedisStore(server.url, reactor)
    ...
    server.kill()       # SIGKILL: what a crash looks like to the clients
    server.start()      # back on the same port, empty
    server.restart()    # stop (or kill) and start: a new run id, nothing kept
    server.pause()      # SIGSTOP: connections stay up but nothing answers
    server.stop()

    RedisServer(tls=TLSFiles(tmpdir))  # rediss:// only, the files' CA and server leaf

Starting waits (with a deadline, never a sleep) until the server logs that it accepts
connections. Synchronous on purpose: a C{setUp} (trial or unittest) calls it before the
reactor runs the test, and end-to-end tests call it from plain code. As with every tool
the tests use, a missing C{redis-server} skips the test unless C{NETSUITE_REQUIRE_TOOLS=1}.
"""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from netsuite.testing._process import TLSFiles, require_tool

__all__ = ["RedisServer", "free_port"]

#: What redis-server logs once it listens (7.x: "... Ready to accept connections tcp").
READY = "Ready to accept connections"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """
    One C{redis-server} process; L{start} it, then L{stop}, L{kill} or L{restart} it on
    the same port as often as a test needs. Also a context manager (started on entry,
    killed on exit).

    @ivar lines: everything the server logged, across starts.
    """

    def __init__(
        self,
        port: int | None = None,
        password: str | None = None,
        args: Sequence[str] = (),
        timeout: float = 10.0,
        tls: TLSFiles | None = None,
    ) -> None:
        self.executable = require_tool("redis-server")
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.password = password
        self.args = list(args)
        self.timeout = timeout
        self.tls = tls
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="netsuite-redis-")

    @property
    def url(self) -> str:
        """C{redis://[:password@]127.0.0.1:port/0} (C{rediss://} with TLS)."""
        auth = f":{self.password}@" if self.password else ""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{auth}{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        auth = ["--requirepass", self.password] if self.password else []
        ports = ["--port", str(self.port)]
        if self.tls:
            # absolute: the server runs in its own directory (--dir)
            cert, key, ca = (
                str(Path(p).resolve())
                for p in (self.tls.cert_path, self.tls.key_path, self.tls.ca_path)
            )
            ports = [
                "--port", "0",
                "--tls-port", str(self.port),
                "--tls-cert-file", cert,
                "--tls-key-file", key,
                "--tls-ca-cert-file", ca,
                "--tls-auth-clients", "no",
            ]  # fmt: skip
        return [
            self.executable,
            *ports,
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir.name,
            "--logfile", "",
            "--daemonize", "no",
            *auth,
            *self.args,
        ]  # fmt: skip

    def start(self) -> RedisServer:
        """Start the server and return once it accepts connections."""
        if self.running:
            raise RuntimeError(f"redis-server already runs on port {self.port}")
        process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.process = process
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(process, lines), daemon=True).start()
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                process.wait()
                raise AssertionError(
                    f"redis-server exited ({process.returncode}):\n" + "\n".join(self.lines)
                )
            if READY in line:
                return self
        self.kill()
        raise AssertionError(
            f"redis-server never got ready in {self.timeout} s:\n" + "\n".join(self.lines)
        )

    def _pump(self, process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        # read to the end, so the server never blocks on a full pipe
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                self.lines.append(line.rstrip("\n"))
                lines.put(line)
        lines.put(None)

    def _end(self, sig: signal.Signals) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            if sig == signal.SIGKILL:
                process.kill()
            else:
                process.send_signal(signal.SIGCONT)  # a paused server could not stop
                process.send_signal(sig)
        return process.wait(self.timeout)

    def stop(self) -> int | None:
        """SIGTERM and wait: a clean shutdown (nothing saved). Its exit status."""
        return self._end(signal.SIGTERM)

    def kill(self) -> int | None:
        """SIGKILL and wait: a crash. Its exit status."""
        return self._end(signal.SIGKILL)

    def restart(self) -> RedisServer:
        """Kill it and start it again on the same port, empty (a new run id)."""
        self.kill()
        return self.start()

    def pause(self) -> None:
        """SIGSTOP: the server keeps its connections but answers nothing (a hung Redis)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after L{pause}."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Kill the server (if it runs) and remove its directory."""
        self.kill()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
