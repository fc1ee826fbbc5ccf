"""
netsuite's own pages: the chat at C{/chat/} (with its WebSocket at C{/chat/ws}) and the
dashboard at C{/}, plain HTML, CSS and JavaScript shipped in C{netsuite/web/pages/}.

    /chat/        the chat page                   /ui/netsuite.css   the one stylesheet
    /chat/ws      the WebSocket chat door         /ui/chat.js        the chat page's script
    /             the dashboard (unless the       /ui/dashboard.js   the dashboard's script
                  static files have their own)    /ui/dom.js         both scripts' DOM helpers
                                                  /ui/favicon.svg    the icon
                                                  /ui/               the dashboard, always

Every page and asset is sent with a Content-Security-Policy that allows only the site
itself: scripts and styles from files here (no inline script or style, no other host),
C{fetch} and WebSocket to the same host, nothing framed, no plugins. The files are read
once, when the site is built; each has a strong ETag (304 on C{If-None-Match}) and
C{Cache-Control: no-cache}, so a browser revalidates and an upgrade shows at once.

Put them on a site with L{WebUI}: C{WebUI.build(hub, clock=reactor).install(site)}, or
pass C{ui.children} and C{ui.index} to L{netsuite.web._site.build_site}.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from netsuite.chat._hub import Hub
from netsuite.web._chatws import ChatSocketConfig, ChatSocketFactory, ChatSocketResource
from netsuite.web._conditions import Precondition, evaluate_preconditions
from netsuite.web._responses import error_body, finish_response

__all__ = ["PAGE_CSP", "Asset", "AssetPage", "Assets", "ChatRoot", "WebUI", "load_assets"]

#: The policy of every page and asset here: the site itself, and nothing else.
PAGE_CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    b"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    b"form-action 'self'; frame-ancestors 'none'"
)

_TYPES = {
    "html": b"text/html; charset=utf-8",
    "css": b"text/css; charset=utf-8",
    "js": b"text/javascript; charset=utf-8",
    "svg": b"image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    """One file of the pages: its bytes, type and strong ETag."""

    name: str
    body: bytes
    content_type: bytes
    etag: bytes = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.body).hexdigest()[:32]
        object.__setattr__(self, "etag", b'"' + digest.encode() + b'"')


def load_assets() -> dict[str, Asset]:
    """Every page file shipped in C{netsuite/web/pages/}, by name."""
    out: dict[str, Asset] = {}
    pages = resources.files("netsuite.web") / "pages"
    if not pages.is_dir():
        raise RuntimeError(
            f"netsuite's pages are missing from {pages}: the package was installed without "
            "its package data (setup.cfg: [options.package_data] netsuite.web = pages/*)"
        )
    for entry in pages.iterdir():
        kind = entry.name.rpartition(".")[2]
        if entry.is_file() and kind in _TYPES and not entry.name.startswith("."):
            out[entry.name] = Asset(entry.name, entry.read_bytes(), _TYPES[kind])
    return out


def _only_here(request: IRequest) -> bool:
    return request.postpath in ([], [b""])


def serve(request: IRequest, asset: Asset) -> int:
    """Answer a GET or HEAD with C{asset} (or 304), under the pages' policy."""
    if request.method not in (b"GET", b"HEAD"):
        request.setHeader(b"Allow", b"GET, HEAD, OPTIONS")
        return finish_response(request, error_body(request, 405, "use GET"))
    request.setHeader(b"Content-Security-Policy", PAGE_CSP)
    request.setHeader(b"Cache-Control", b"no-cache")
    request.setHeader(b"ETag", asset.etag)
    verdict = evaluate_preconditions(
        asset.etag, 0,
        if_match=request.getHeader(b"if-match"),
        if_none_match=request.getHeader(b"if-none-match"),
    )  # fmt: skip
    if verdict == Precondition.NOT_MODIFIED:
        request.setResponseCode(304)
        return finish_response(request, None)
    if verdict == Precondition.FAILED:
        return finish_response(request, error_body(request, 412, "the page has changed"))
    request.setHeader(b"Content-Type", asset.content_type)
    return finish_response(request, asset.body)


class AssetPage(Resource):
    """One page, at exactly its path (C{/} for the dashboard)."""

    isLeaf = True
    allowed_methods = (b"GET", b"HEAD", b"OPTIONS")

    def __init__(self, asset: Asset) -> None:
        super().__init__()
        self.asset = asset

    def render(self, request: IRequest) -> int:
        if not _only_here(request):
            return finish_response(request, error_body(request, 404, "no such page"))
        return serve(request, self.asset)


class Assets(Resource):
    """C{/ui/NAME}: the scripts and the stylesheet; C{/ui/} is the dashboard."""

    isLeaf = True
    allowed_methods = (b"GET", b"HEAD", b"OPTIONS")

    def __init__(self, assets: Mapping[str, Asset], index: str = "dashboard.html") -> None:
        super().__init__()
        self.assets = dict(assets)
        self.index = index

    def render(self, request: IRequest) -> int:
        path = request.postpath
        if path in ([], [b""]):
            if not request.path.endswith(b"/"):
                return _redirect(request, request.path + b"/")
            return serve(request, self.assets[self.index])
        asset = self.assets.get(path[0].decode("utf-8", "replace")) if len(path) == 1 else None
        if asset is None:
            return finish_response(request, error_body(request, 404, "no such file"))
        return serve(request, asset)


def _redirect(request: IRequest, location: bytes) -> int:
    request.setResponseCode(301)
    request.setHeader(b"Location", location)
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    return finish_response(request, b"moved to " + location + b"\n")


class ChatRoot(Resource):
    """C{/chat}: redirects to C{/chat/}, the page; C{/chat/ws}: the WebSocket."""

    allowed_methods = (b"GET", b"HEAD", b"OPTIONS")

    def __init__(self, page: Asset, socket: ChatSocketResource) -> None:
        super().__init__()
        self.page = AssetPage(page)
        self.putChild(b"ws", socket)

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        if path == b"":
            return self.page
        return _Missing()

    def render(self, request: IRequest) -> int:  # /chat, no slash
        return _redirect(request, request.path + b"/")


class _Missing(Resource):
    isLeaf = True

    def render(self, request: IRequest) -> int:
        return finish_response(request, error_body(request, 404, "no such page"))


@dataclass
class WebUI:
    """
    The pages and the WebSocket door, ready to put on a site.

    @ivar children: C{{"chat": ..., "ui": ...}}, for C{build_site(children=...)}.
    @ivar index: the dashboard, for C{build_site(index=...)}.
    @ivar sockets: the WebSocket door's factory (L{None} without a hub): its counters,
        its open sockets, and C{drain(timeout)} for shutdown.
    """

    children: dict[str, IResource]
    index: IResource
    sockets: ChatSocketFactory | None

    @classmethod
    def build(
        cls, hub: Hub | None, *, clock: IReactorTime, config: ChatSocketConfig | None = None
    ) -> WebUI:
        assets = load_assets()
        sockets = ChatSocketFactory(hub, clock=clock, config=config) if hub is not None else None
        children: dict[str, IResource] = {
            "chat": ChatRoot(assets["chat.html"], ChatSocketResource(sockets)),
            "ui": Assets(assets),
        }
        return cls(children, AssetPage(assets["dashboard.html"]), sockets)

    def install(self, site: Any) -> None:
        """
        Put the pages on a built L{netsuite.web._site.WebSite}: the children, the dashboard
        at C{/} unless the static files serve their own C{/}, and the door's counters in
        the site's stats registry (as C{chat/ws}).
        """
        from netsuite.web._site import Placeholder

        root = site.root
        for name, child in self.children.items():
            root.putChild(name.encode(), child)
        if (root.index is None and site.static is None) or isinstance(root.index, Placeholder):
            root.index = self.index
        if self.sockets is not None and site.stats is not None:
            site.stats.register_factory(self.sockets, self.sockets.name)
