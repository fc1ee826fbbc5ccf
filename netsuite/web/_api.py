"""
The JSON API: C{/api/health}, C{/api/stats} and the chat hub's rooms.

    GET  /api/health                          {"status": "ok", "version", "uptime_s"}
                                              (503 {"status": "draining"} on shutdown)
    GET  /api/stats                           every registered service's counters
    GET  /api/chat/rooms                      [{"name", "topic", "members"}]
    GET  /api/chat/rooms/{room}/history?limit=N   the room's recent messages, oldest first
    POST /api/chat/rooms/{room}/messages      {"text": "..."} said as --api-nick;
                                              needs "Authorization: Bearer TOKEN"

C{{room}} is the room's name with or without its C{#} (C{%23lobby} or C{lobby}).
Every error is C{{"status": N, "error": "..."}}. Without a hub, C{/api/chat/...} is 404;
without a configured token, posting is 403 (off), and a wrong or missing token is 401.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any, ClassVar

from twisted.web.iweb import IRequest
from twisted.web.resource import Resource

from netsuite import __version__
from netsuite.chat._events import ChatError, ChatEvent, Said
from netsuite.chat._hub import Hub
from netsuite.web._responses import error_body, finish_response, json_body
from netsuite.web._stats import StatsRegistry

__all__ = ["APIError", "ApiRoot", "ChatAPI", "JSONResource"]

#: The largest JSON body the write API reads (the hub caps a message at 4,000
#: characters; this leaves room for escapes).
MAX_POST = 32 * 1024

#: ChatError codes and the HTTP status each becomes.
_CHAT_STATUS = {
    "no_such_room": 404, "flood": 429, "too_long": 413, "no_text": 400, "cannot_send": 403,
    "nick_in_use": 409, "erroneous_nick": 500,
}  # fmt: skip


class APIError(Exception):
    """Ends an API request with C{status} and C{{"status", "error"}}."""

    def __init__(self, status: int, message: str, headers: dict[bytes, bytes] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class JSONResource(Resource):
    """
    A leaf answering JSON: C{json_GET(request) -> value} (and C{json_POST} ...) return
    what to send; an L{APIError} becomes the error body. HEAD is GET without the body.
    """

    isLeaf = True
    methods: ClassVar[tuple[bytes, ...]] = (b"GET",)

    @property
    def allowed_methods(self) -> tuple[bytes, ...]:
        extra = (b"HEAD",) if b"GET" in self.methods else ()
        return (*self.methods, *extra, b"OPTIONS")

    def render(self, request: IRequest) -> int:
        method = b"GET" if request.method == b"HEAD" else request.method
        try:
            if method not in self.methods:
                raise APIError(405, f"{request.method.decode('latin-1')} is not allowed here",
                               {b"Allow": b", ".join(self.allowed_methods)})  # fmt: skip
            status, value = self.answer(request, method)
            body = json_body(request, value, status)
        except APIError as e:
            for name, header in e.headers.items():
                request.setHeader(name, header)
            body = error_body(request, e.status, e.message)
        return finish_response(request, body)

    def answer(self, request: IRequest, method: bytes) -> tuple[int, Any]:
        """C{(status, value)} for this request; the default calls C{json_<METHOD>}."""
        if request.postpath not in ([], [b""]):
            raise APIError(404, "no such API endpoint")
        handler: Callable[[IRequest], Any] = getattr(self, "json_" + method.decode())
        return 200, handler(request)


class Health(JSONResource):
    """
    C{/api/health}: answers while the reactor runs; for load balancers and probes.

    While the server drains (SIGTERM; the site's C{draining}), it answers 503
    C{{"status": "draining"}} on the connections still open, so that a balancer's probe
    takes this server out of rotation before its last connections close.
    """

    def __init__(self, stats: StatsRegistry) -> None:
        super().__init__()
        self.stats = stats

    def answer(self, request: IRequest, method: bytes) -> tuple[int, Any]:
        status, value = super().answer(request, method)
        if getattr(getattr(request, "site", None), "draining", False):
            return 503, {"status": "draining", "version": __version__}
        return status, value

    def json_GET(self, request: IRequest) -> Any:
        return {"status": "ok", "version": __version__, "uptime_s": round(self.stats.uptime(), 3)}


class Stats(JSONResource):
    """C{/api/stats}: L{StatsRegistry.snapshot}."""

    def __init__(self, stats: StatsRegistry) -> None:
        super().__init__()
        self.stats = stats

    def json_GET(self, request: IRequest) -> Any:
        return self.stats.snapshot()


class _APIMember:
    """
    The hub member that messages posted through the API are said as. It reads nothing
    (deliveries are dropped), so it can never be a slow reader.
    """

    door = "web-api"

    def __init__(self, hub: Hub, nick: str) -> None:
        self.hub = hub
        self.nick = nick

    def deliver(self, event: ChatEvent) -> None:
        pass

    def disconnect(self, reason: str) -> None:
        """Kicked (flooding): leave the hub; the next post reconnects."""
        self.hub.quit(self, reason)


def _said(said: Said) -> dict[str, Any]:
    return {"seq": said.seq, "when": said.when, "room": said.room, "sender": said.sender,
            "text": said.text, "kind": said.kind}  # fmt: skip


class ChatAPI(JSONResource):
    """C{/api/chat/...}: rooms and history from the hub; posting with a bearer token."""

    methods = (b"GET", b"POST")

    def __init__(
        self,
        hub: Hub | None,
        token: str | None,
        nick: str = "api",
        clients: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.hub = hub
        self.token = token.encode() if token else None
        self.clients = frozenset(clients)
        self.member = _APIMember(hub, nick) if hub is not None else None

    def answer(self, request: IRequest, method: bytes) -> tuple[int, Any]:
        hub = self.hub
        if hub is None:
            raise APIError(404, "no chat hub in this process")
        path = list(request.postpath)
        if path and path[-1] == b"":
            path.pop()
        if path == [b"rooms"]:
            self._only(method, b"GET")
            return 200, [{"name": r.name, "topic": r.topic, "members": r.members}
                         for r in hub.room_names()]  # fmt: skip
        if len(path) == 3 and path[0] == b"rooms" and path[2] in (b"history", b"messages"):
            room = self._room(path[1])
            if path[2] == b"history":
                self._only(method, b"GET")
                return 200, self._history(request, hub, room)
            self._only(method, b"POST")
            return 201, self._post(request, hub, room)
        raise APIError(404, "no such API endpoint")

    @staticmethod
    def _only(method: bytes, allowed: bytes) -> None:
        if method != allowed:
            allow = b"GET, HEAD, OPTIONS" if allowed == b"GET" else b"POST, OPTIONS"
            raise APIError(405, f"use {allowed.decode()} here", {b"Allow": allow})

    @staticmethod
    def _room(segment: bytes) -> str:
        try:
            name = segment.decode("utf-8")
        except UnicodeDecodeError:
            raise APIError(400, "a room name must be UTF-8") from None
        return name if name.startswith("#") else "#" + name

    @staticmethod
    def _history(request: IRequest, hub: Hub, room: str) -> Any:
        raw = (request.args or {}).get(b"limit", [b"50"])[-1]
        try:
            limit = int(raw)
        except ValueError:
            limit = -1
        if limit < 0:
            raise APIError(400, "limit must be a whole number, 0 or more")
        try:
            messages = hub.recent(room, min(limit, hub.history))
        except ChatError as e:
            raise APIError(_CHAT_STATUS.get(e.code, 400), e.message) from None
        return {"room": hub.room_info(room).name, "messages": [_said(s) for s in messages]}

    def _authorize(self, request: IRequest) -> None:
        if self.clients and client_identity(request) in self.clients:
            return  # a verified client certificate stands in for the token
        if self.token is None:
            raise APIError(
                403, "posting is off: the server has no --api-token (nor this --api-client)"
            )
        given = request.getHeader(b"authorization") or b""
        scheme, _, credentials = given.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(credentials.strip(),
                                                                   self.token):  # fmt: skip
            raise APIError(401, "a valid bearer token is required",
                           {b"WWW-Authenticate": b'Bearer realm="netsuite"'})  # fmt: skip

    def _post(self, request: IRequest, hub: Hub, room: str) -> Any:
        self._authorize(request)
        kind = (request.getHeader(b"content-type") or b"").split(b";")[0].strip().lower()
        if kind != b"application/json":
            raise APIError(415, "send the message as application/json")
        raw = request.content.read(MAX_POST + 1) if request.content is not None else b""
        if len(raw) > MAX_POST:
            raise APIError(413, f"a message body is at most {MAX_POST} bytes")
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise APIError(400, "the body is not valid JSON") from None
        text = document.get("text") if isinstance(document, dict) else None
        if not isinstance(text, str):
            raise APIError(400, 'expected {"text": "..."}')
        member = self.member
        assert member is not None
        try:
            hub.room_info(room)  # posting does not create rooms
            if not hub.is_connected(member):
                hub.connect(member, member.nick)
            hub.join(member, room)
            said = hub.say(member, room, text)
        except ChatError as e:
            raise APIError(_CHAT_STATUS.get(e.code, 400), e.message) from None
        return {"status": 201, "message": _said(said)}


def client_identity(request: IRequest) -> str | None:
    """
    The identity of the verified TLS client certificate the request came with, if any
    (HTTP/1.1 or HTTP/2: the TLS transport is found under the channel).
    """
    from netsuite.tls._contexts import peer_identity

    transport = getattr(request, "channel", None)
    for _ in range(4):
        transport = getattr(transport, "transport", None)
        if transport is None:
            return None
        if hasattr(transport, "getPeerCertificate"):
            try:
                return peer_identity(transport.getPeerCertificate())
            except Exception:  # not TLS after all (a plain TCP transport)
                return None
    return None


class ApiRoot(Resource):
    """C{/api}: the endpoints above (C{chat}: the L{ChatAPI}); anything else is a JSON 404."""

    def __init__(self, stats: StatsRegistry, chat: ChatAPI) -> None:
        super().__init__()
        self.putChild(b"health", Health(stats))
        self.putChild(b"stats", Stats(stats))
        self.putChild(b"chat", chat)

    def getChild(self, path: bytes, request: IRequest) -> Resource:
        return _Index() if path == b"" and not request.postpath else _NotFound()

    def render(self, request: IRequest) -> int:
        return _Index().render(request)


class _Index(JSONResource):
    def json_GET(self, request: IRequest) -> Any:
        return {"endpoints": ["/api/health", "/api/stats", "/api/chat/rooms",
                              "/api/chat/rooms/{room}/history",
                              "/api/chat/rooms/{room}/messages"]}  # fmt: skip


class _NotFound(JSONResource):
    methods = (b"GET", b"POST", b"PUT", b"PATCH", b"DELETE")

    def answer(self, request: IRequest, method: bytes) -> tuple[int, Any]:
        raise APIError(404, "no such API endpoint")
