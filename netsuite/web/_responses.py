"""
How netsuite's own responses are written: JSON bodies, errors, and HTML pages under a
strict Content-Security-Policy.

Errors under C{/api/} (or asked for as JSON) are C{{"status": N, "error": "..."}};
others are one line of plain text, which no browser can be tricked into running.
Our HTML pages carry their one stylesheet inline and a CSP that allows exactly that
stylesheet (by hash) and nothing else: no scripts, no frames, no forms.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any

from twisted.web.http import RESPONSES
from twisted.web.iweb import IRequest
from twisted.web.server import NOT_DONE_YET

from netsuite._twisted.http import raw_headers
from netsuite.web._conditions import choose_media_type

__all__ = [
    "JSON_TYPE",
    "PAGE_STYLE",
    "error_body",
    "finish_response",
    "html_page",
    "json_body",
    "page_csp",
]

JSON_TYPE = b"application/json; charset=utf-8"
TEXT_TYPE = b"text/plain; charset=utf-8"
HTML_TYPE = b"text/html; charset=utf-8"

#: The stylesheet of every page netsuite renders itself (listings, placeholder).
PAGE_STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;"
    "color:#222;background:#fff}table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.2em .8em;border-bottom:1px solid #eee}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "a{color:#0645ad;text-decoration:none}a:hover{text-decoration:underline}"
    "code{background:#f4f4f4;padding:0 .3em}"
)


def page_csp(style: str = PAGE_STYLE) -> bytes:
    """A CSP that allows one inline stylesheet, by its hash, and nothing else."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ).encode()


_PAGE_CSP = page_csp()


def html_page(request: IRequest, title: str, body_html: str, status: int = 200) -> bytes:
    """A complete HTML page with our style and CSP; C{body_html} must be escaped already."""
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", HTML_TYPE)
    request.setHeader(b"Content-Security-Policy", _PAGE_CSP)
    page = (
        "<!doctype html>\n<html lang=en><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style>\n"
        f"<body>{body_html}</body></html>\n"
    )
    return page.encode("utf-8")


def json_body(request: IRequest, value: Any, status: int = 200) -> bytes:
    """C{value} as compact UTF-8 JSON, with the status, type and no-store set."""
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", JSON_TYPE)
    request.setHeader(b"Cache-Control", b"no-store")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def wants_json(request: IRequest) -> bool:
    """JSON for the API and for clients that prefer it; plain text for the rest."""
    path = getattr(request, "path", b"") or b""
    if path.startswith(b"/api/") or path == b"/api":
        return True
    accept = request.getHeader(b"accept")
    return choose_media_type(accept, ("text/plain", "application/json")) == "application/json"


def error_body(request: IRequest, status: int, message: str = "") -> bytes:
    """
    Set up an error response and return its body: JSON C{{"status", "error"}} for the
    API, else a line of text. The message never echoes request bytes as HTML.
    """
    reason = RESPONSES.get(status, b"Error").decode("ascii", "replace")
    message = message or reason
    if wants_json(request):
        return json_body(request, {"status": status, "error": message}, status)
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", TEXT_TYPE)
    return f"{status} {reason}: {message}\n".encode()


def finish_response(request: IRequest, body: bytes | None) -> int:
    """
    Write the whole response now and finish it; return C{NOT_DONE_YET} for C{render}.

    Done here rather than by returning the body from C{render} so that a HEAD gets the
    C{Content-Length} of the GET without Twisted logging that it "ate" a body, and a
    304 (C{body=None}) gets no C{Content-Length: 0}.
    """
    if body is not None:
        raw_headers(request.responseHeaders)[b"Content-Length"] = [b"%d" % len(body)]
        if request.method != b"HEAD":
            request.write(body)
    request.finish()
    return NOT_DONE_YET
