"""
End to end: the suite under `twistd --logger netsuite.base.logs.json_logger`.

Every line of the log file must be one JSON object (twistd's own lines too), and each
connection's events must carry service, door, conn and peer; the TLS one its version,
cipher and ALPN; the refusal the limit that refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from netsuite.testing import TLSFiles, twistd_command

from .chatclient import LineClient

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "tcp:0:interface=127.0.0.1"
LISTENING = re.compile(r"^(?P<label>\S+) listening on (?:tcp|tls) (?P<host>\S+):(?P<port>\d+)$")


class JSONLogFile:
    """
    The log file as the process writes it: whole lines, each parsed as JSON.

    The file is a FIFO the test reads as the process writes: waits are on its data,
    never on a clock. Opened for reading and writing before the process starts, so the
    process's open does not wait and select() waits for data, not an EOF that comes
    before the writer does. C{data} keeps every byte written, for the checks at the end.
    """

    def __init__(self, path: Path, process: subprocess.Popen[bytes], fd: int) -> None:
        self.path = path
        self.process = process
        self.fd = fd
        self.data = b""
        self.objects: list[dict[str, Any]] = []
        self._offset = 0

    @classmethod
    def fifo(cls, path: Path) -> int:
        """Make C{path} a FIFO and open its reading end (before the writer exists)."""
        os.mkfifo(path)
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        # Room for the whole run's log, so the server never waits on the test to write it.
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        return fd

    def read(self, timeout: float = 0.0) -> bool:
        """Take what was written, waiting up to C{timeout} for some; False if none came."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return False
        try:
            chunk = os.read(self.fd, 1 << 20)
        except BlockingIOError:
            return False
        self.data += chunk
        end = self.data.rfind(b"\n") + 1
        for line in self.data[self._offset : end].splitlines():
            self.objects.append(json.loads(line))  # every line must be JSON
        self._offset = end
        return True

    def read_to_end(self) -> None:
        """Everything the exited process wrote (it is all in the pipe by now)."""
        assert self.process.poll() is not None
        while self.read():
            pass

    def wait_for(self, condition: Any, timeout: float = 20.0) -> None:
        """Read until C{condition(objects)} holds: the log is the only channel we have."""
        deadline = time.monotonic() + timeout
        while True:
            self.read(max(0.0, min(1.0, deadline - time.monotonic())))
            if condition(self.objects):
                return
            exited = self.process.poll() is not None
            if exited or time.monotonic() > deadline:
                out = self.process.stdout.read() if exited and self.process.stdout else b""
                raise AssertionError(
                    "log never showed it:\n"
                    + "\n".join(o["text"] for o in self.objects)
                    + "\n"
                    + out.decode(errors="replace")
                )

    def listeners(self) -> dict[str, tuple[str, int]]:
        found = {}
        for obj in self.objects:
            m = LISTENING.match(obj["text"])
            if m:
                found[m["label"]] = (m["host"].strip("[]"), int(m["port"]))
        return found


class JSONLogTests(SynchronousTestCase):
    def test_every_line_is_json_with_the_fields(self) -> None:
        tmp = Path(self.mktemp()).resolve()
        tmp.mkdir()
        tls = TLSFiles(tmp / "tls")
        log_path = tmp / "netsuite.jsonl"
        reader = JSONLogFile.fifo(log_path)
        self.addCleanup(os.close, reader)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
            "NETSUITE_LOG_FILE": str(log_path),
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            *twistd_command(), "-n", "--pidfile=",
            "--logger", "netsuite.base.logs.json_logger", "netsuite",
            "--echo-args", f"--listen {LOOPBACK} --listen {tls.nstls(0, alpn='x-echo')}",
            "--chat-args", f"--listen {LOOPBACK} --max-per-ip 1",
            "--web-args", f"--listen {LOOPBACK}",
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            env=env,
            cwd=tmp,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

        def end() -> None:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()

        self.addCleanup(end)
        log = JSONLogFile(log_path, process, reader)
        wanted = {"echo/tcp", "echo/tls", "chat/line", "web/http"}
        log.wait_for(lambda objs: wanted <= set(log.listeners()) and any(
            o["text"].endswith(" ready") for o in objs
        ))  # fmt: skip
        listeners = log.listeners()

        # TCP echo
        with socket.create_connection(listeners["echo/tcp"], timeout=10) as s:
            s.sendall(b"plain")
            self.assertEqual(s.recv(10), b"plain")
        # TLS echo, with ALPN
        context = ssl.create_default_context(cafile=tls.ca_path)
        context.set_alpn_protocols(["x-echo"])
        host, port = listeners["echo/tls"]
        with (
            socket.create_connection((host, port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname="localhost") as s,
        ):
            s.sendall(b"secret")
            self.assertEqual(s.recv(10), b"secret")
            self.assertEqual(s.selected_alpn_protocol(), "x-echo")
        # a chat line connection, and a second from the same IP: refused (max-per-ip 1)
        line = LineClient(listeners["chat/line"])
        self.addCleanup(line.close)
        line.send("hello from the json test")
        line.expect("hello from the json test")
        with socket.create_connection(listeners["chat/line"], timeout=10) as second:
            self.assertEqual(second.recv(100), b"")  # closed at once
        # an HTTP request
        host, port = listeners["web/http"]
        with urllib.request.urlopen(f"http://{host}:{port}/api/health", timeout=10) as r:
            self.assertEqual(r.status, 200)
        line.close()

        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(20), 0)
        log.read_to_end()
        objects = log.objects

        # every line was parsed as JSON by read(); each has the head
        data = log.data
        self.assertTrue(data.endswith(b"\n"))
        self.assertEqual(len(data.splitlines()), len(objects))
        for obj in objects:
            self.assertLessEqual({"time", "level", "namespace", "text"}, set(obj), obj)
            self.assertRegex(obj["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
            self.assertFalse([k for k in obj if k.startswith("log_")], obj)
        texts = [o["text"] for o in objects]
        self.assertTrue(any("Received SIGTERM" in t for t in texts), texts)

        def events(service: str, door: str, word: str) -> list[dict[str, Any]]:
            return [
                o for o in objects
                if o.get("service") == service and o.get("door") == door and word in o["text"]
            ]  # fmt: skip

        for obj in objects:
            if "conn" in obj:
                self.assertIsInstance(obj["conn"], int)
                self.assertRegex(obj["peer"], r"^tcp 127\.0\.0\.1:\d+$")
        echo_closed = events("echo", "tcp", "closed")
        self.assertEqual(len(echo_closed), 2, texts)
        plain, secure = sorted(echo_closed, key=lambda o: "tls_version" in o)
        self.assertNotIn("tls_version", plain)
        self.assertEqual(plain["bytes_in"], 5)
        self.assertIn(secure["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertTrue(secure["cipher"])
        self.assertEqual(secure["alpn"], "x-echo")
        self.assertIsNone(secure["client_identity"])
        opened = events("echo", "tcp", "connected")
        self.assertEqual({o["conn"] for o in opened}, {o["conn"] for o in echo_closed})

        [refused] = events("chat", "line", "refused")
        self.assertEqual((refused["limit"], refused["limit_value"]), ("max-per-ip", 1))
        self.assertEqual(refused["level"], "warn")
        chat_closed = events("chat", "line", "closed")
        self.assertEqual(len(chat_closed), 1, texts)
        self.assertNotEqual(chat_closed[0]["conn"], refused["conn"])

        web = [o for o in objects if o.get("service") == "web" and o.get("door") == "http"]
        self.assertTrue(any("connected" in o["text"] for o in web), texts)
        [access] = [o for o in web if o.get("uri") == "/api/health"]
        self.assertEqual((access["method"], access["status"]), ("GET", 200))
        self.assertGreater(access["conn"], 0)
        conns = [o["conn"] for o in objects if "closed" in o["text"] and "conn" in o]
        self.assertEqual(len(conns), len(set(conns)), "connection ids are unique")
