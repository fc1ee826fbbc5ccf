"""
Static files, safe by default, fast for small files.

What C{twistd web --path} does that this does not: run C{.rpy}/C{.epy}/CGI files found
in the tree (here every file is only ever read and sent), serve dotfiles, follow
symlinks out of the root, call C{x.tar.gz} gzip-encoded. Every request path is checked
segment by segment after percent-decoding: C{..}, C{.}, an encoded slash, a backslash
or a NUL is a 400; a hidden name (C{.git}, C{.env}; C{.well-known} excepted) or a path
whose real location leaves the root is a 404. FIFOs, sockets and devices are never
opened (opening a FIFO would block the whole server).

Why not subclass C{twisted.web.static.File}: it builds a C{File} (and a C{FilePath},
with its own stat calls) for every path segment of every request, decides encodings
with C{mimetypes.guess_type}, and has no cache. Here one leaf resource resolves the
whole path once and remembers the answer: small files (C{cache_file_max}) are kept in
memory, keyed by URL path and revalidated on every request by one C{stat} (inode,
size and mtime must match), within C{cache_bytes} in total, least recently used first
out. Larger files are streamed from disk by a push producer that yields to the
reactor between chunks.

Conditional requests, ranges and negotiation follow L{netsuite.web._conditions}.

The module is above 400 lines because it is one concern, serving a file: path safety,
the cache, conditional and range requests and the streaming producer act on the same
open file and its metadata, one after another, for one response.
"""

from __future__ import annotations

import gzip
import html
import io
import os
import stat
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict, cast
from urllib.parse import quote

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from netsuite._twisted.http import raw_headers
from netsuite.base._metrics import Counters
from netsuite.web._conditions import (
    ByteRange,
    Precondition,
    RangeNotSatisfiableError,
    accepted_codings,
    choose_media_type,
    evaluate_preconditions,
    http_date,
    if_range_allows,
    parse_range,
)
from netsuite.web._filebody import FileBody
from netsuite.web._mediatypes import COMPRESSED_SUFFIXES, MediaType, media_type
from netsuite.web._responses import error_body, finish_response, html_page, json_body

__all__ = ["FileBody", "FileCache", "FileEntry", "StaticFiles"]

#: Names starting with a dot are hidden, except this one (RFC 8615: ACME challenges,
#: security.txt), which sites are expected to serve.
WELL_KNOWN = ".well-known"

#: Seconds between looks for a new precompressed sibling (C{x.css.br}) of a cached file.
SIBLING_RECHECK = 2.0

#: Most entries a directory listing shows; the rest are counted, not listed.
MAX_LISTING = 10_000

_GET_HEAD = (b"GET", b"HEAD")
_ALLOW = b"GET, HEAD, OPTIONS"
_LISTING_TYPES = ("text/html", "application/json", "text/plain")
_SIBLINGS = ((b"br", ".br"), (b"gzip", ".gz"))


@dataclass(eq=False, slots=True)
class FileEntry:
    """
    What is known of one regular file, valid while C{os.stat(path)} gives C{signature}.

    @ivar body: the content, for files small enough to cache; L{None}: read from disk.
    @ivar gzipped: the gzip-coded body once computed (L{None}: not worth it or not yet).
    """

    path: str
    signature: tuple[int, int, int, int]
    size: int
    mtime: int
    etag: bytes
    last_modified: bytes
    media: MediaType
    body: bytes | None = None
    gzipped: bytes | None = None
    gzip_tried: bool = False
    sibling_suffixes: bool = True
    siblings: dict[bytes, FileEntry] = field(default_factory=dict)
    siblings_checked: float = float("-inf")

    @property
    def cost(self) -> int:
        """Bytes this entry holds in memory."""
        return len(self.body or b"") + len(self.gzipped or b"") + 256


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)


class FileCache:
    """
    Entries by URL path, least recently used first out, within C{max_bytes} of bodies
    and C{max_entries} entries. Every lookup revalidates with one C{stat}.
    """

    def __init__(self, max_bytes: int, max_entries: int = 10_000) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes = 0
        self._entries: OrderedDict[tuple[bytes, ...], FileEntry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[bytes, ...]) -> FileEntry | None:
        """The entry for C{key} if the file on disk is still the one it describes."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        try:
            st = os.stat(entry.path)
        except OSError:
            self.drop(key)
            return None
        if _signature(st) != entry.signature:
            self.drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple[bytes, ...], entry: FileEntry) -> None:
        self.drop(key)
        self._entries[key] = entry
        self.bytes += entry.cost
        self._evict()

    def grew(self, entry: FileEntry, nbytes: int) -> None:
        """C{entry} (cached) now holds C{nbytes} more (its gzipped copy)."""
        self.bytes += nbytes
        self._evict()

    def drop(self, key: tuple[bytes, ...]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.cost

    def _evict(self) -> None:
        entries = self._entries
        while entries and (self.bytes > self.max_bytes or len(entries) > self.max_entries):
            _, old = entries.popitem(last=False)
            self.bytes -= old.cost


@dataclass(frozen=True)
class _Refusal:
    status: int
    message: str
    counter: str = ""


@dataclass(frozen=True)
class _Redirect:
    location: bytes


@dataclass(frozen=True)
class _Listing:
    directory: str
    url_path: str


class _Entry(TypedDict):
    """One row of a directory listing, as the JSON listing gives it."""

    name: str
    type: str
    size: int | None
    mtime: str
    href: str


class StaticFiles(Resource):
    """
    The files under C{root}, as one leaf resource that reads C{request.postpath}.

    @param clock: the reactor (or a test's clock): schedules streaming, times the
        precompressed-sibling rechecks.
    @param counters: where refusals are counted (C{refused.traversal} ...).
    """

    isLeaf = True
    allowed_methods = (b"GET", b"HEAD", b"OPTIONS")
    #: Cached bodies longer than this stream through L{FileBody} instead of one write.
    stream_above = FileBody.chunk_size
    log = Logger()

    def __init__(
        self,
        root: str,
        *,
        clock: IReactorTime,
        counters: Counters | None = None,
        cache_bytes: int = 64 << 20,
        cache_file_max: int = 1 << 20,
        gzip_min: int = 1024,
        charset: str = "utf-8",
        listings: bool = True,
    ) -> None:
        super().__init__()
        real = os.path.realpath(root)
        if not os.path.isdir(real):
            raise ValueError(f"--path {root!r} is not a directory")
        self.root = real
        self._prefix = real.rstrip(os.sep) + os.sep
        self.clock = clock
        self.counters = counters if counters is not None else Counters("web")
        self.cache = FileCache(cache_bytes)
        self.cache_file_max = min(cache_file_max, cache_bytes)
        self.gzip_min = gzip_min
        self.charset = charset
        self.listings = listings
        self._media: Callable[[str], MediaType] = lambda name: media_type(name, charset)

    # --- the request --------------------------------------------------------------

    def render(self, request: IRequest) -> bytes | int:
        if request.method not in _GET_HEAD:
            request.setHeader(b"Allow", _ALLOW)
            return _error(request, 405, "only GET and HEAD are served here")
        key = tuple(request.postpath)
        entry = self.cache.get(key)
        if entry is None:
            found = self._resolve(key, request)
            if isinstance(found, _Refusal):
                if found.counter:
                    self.counters["refused." + found.counter] += 1
                return _error(request, found.status, found.message)
            if isinstance(found, _Redirect):
                request.setResponseCode(301)
                request.setHeader(b"Location", found.location)
                return _error(request, 301, "moved: add a slash")
            if isinstance(found, _Listing):
                return self._listing(request, found)
            entry = found
        return self._serve(request, entry)

    def _resolve(
        self, key: tuple[bytes, ...], request: IRequest
    ) -> FileEntry | _Refusal | _Redirect | _Listing:
        """Check the path, find what it names, and cache it if it is a file."""
        names: list[str] = []
        for segment in key:
            if not segment:
                continue  # "//" and the trailing slash
            if b"\x00" in segment or b"/" in segment or b"\\" in segment:
                return _Refusal(400, "bad path: encoded slash, backslash or NUL", "traversal")
            if segment in (b".", b".."):
                return _Refusal(400, "bad path: dot segments are not allowed", "traversal")
            if segment.startswith(b".") and segment != WELL_KNOWN.encode():
                return _Refusal(404, "no such file", "hidden")
            names.append(os.fsdecode(segment))
        trailing = not key or key[-1] == b""
        candidate = os.path.join(self.root, *names)
        found = self._file(candidate)
        if isinstance(found, _Refusal):
            return found
        if found is None:  # a directory
            url_path = "/" + "".join(quote(os.fsencode(n)) + "/" for n in names)
            if not trailing:
                query = request.uri.partition(b"?")[2]
                return _Redirect(url_path.encode() + (b"?" + query if query else b""))
            index = self._file(os.path.join(candidate, "index.html"))
            if isinstance(index, FileEntry):
                self.cache.put(key, index)
                return index
            if self.listings:
                return _Listing(os.path.realpath(candidate), url_path)
            return _Refusal(404, "no index here")
        if trailing:
            return _Refusal(404, "no such directory")
        self.cache.put(key, found)
        return found

    def _inside(self, real: str) -> bool:
        if real != self.root and not real.startswith(self._prefix):
            return False
        rest = real[len(self._prefix) :] if real != self.root else ""
        return not any(p.startswith(".") and p != WELL_KNOWN for p in rest.split(os.sep) if p)

    def _file(self, candidate: str) -> FileEntry | _Refusal | None:
        """
        The entry for the regular file at C{candidate}; L{None} for a directory; a
        refusal for anything missing, hidden, outside the root, or not a regular file.
        """
        real = os.path.realpath(candidate)
        if not self._inside(real):
            self.log.warn("static: {path} leads outside the root or to a hidden name",
                          path=candidate)  # fmt: skip
            return _Refusal(404, "no such file", "symlink_escape")
        try:
            st = os.stat(real)
        except PermissionError:
            return _Refusal(403, "not readable")
        except OSError:
            return _Refusal(404, "no such file")
        if stat.S_ISDIR(st.st_mode):
            return None
        if not stat.S_ISREG(st.st_mode):
            return _Refusal(404, "not a regular file", "special_file")
        body = None
        if st.st_size <= self.cache_file_max:
            try:
                with open(real, "rb") as f:
                    st = os.fstat(f.fileno())
                    body = f.read(st.st_size + 1)
            except OSError:
                return _Refusal(403, "not readable")
            if len(body) != st.st_size:  # changing while we read: do not cache it
                body = None
        mtime = int(st.st_mtime)
        return FileEntry(
            path=candidate,
            signature=_signature(st),
            size=st.st_size,
            mtime=mtime,
            etag=b'"%x-%x-%x"' % (st.st_ino, st.st_size, st.st_mtime_ns),
            last_modified=http_date(mtime),
            media=self._media(os.path.basename(real)),
            body=body,
            sibling_suffixes=os.path.splitext(real)[1].lower() not in COMPRESSED_SUFFIXES,
        )

    # --- representations ----------------------------------------------------------

    def _gzipped(self, entry: FileEntry) -> bytes | None:
        """The cached gzip copy of a small compressible file, made once, if it pays."""
        if not entry.gzip_tried:
            entry.gzip_tried = True
            assert entry.body is not None
            packed = gzip.compress(entry.body, 6, mtime=0)
            if len(packed) < entry.size * 0.9:
                entry.gzipped = packed
                self.cache.grew(entry, len(packed))
        return entry.gzipped

    def _siblings(self, entry: FileEntry) -> dict[bytes, FileEntry]:
        """
        Precompressed copies beside the file (C{x.css.br}, C{x.css.gz}), looked for at
        most every L{SIBLING_RECHECK} seconds and revalidated before each use.
        """
        now = self.clock.seconds()
        if now - entry.siblings_checked >= SIBLING_RECHECK:
            entry.siblings_checked = now
            found: dict[bytes, FileEntry] = {}
            for coding, suffix in _SIBLINGS:
                sibling = entry.siblings.get(coding)
                if sibling is not None and _still(sibling):
                    found[coding] = sibling
                    continue
                fresh = self._file(entry.path + suffix)
                if isinstance(fresh, FileEntry):
                    found[coding] = fresh
            entry.siblings = found
        return entry.siblings

    def _select(
        self, request: IRequest, entry: FileEntry, ranged: bool
    ) -> tuple[FileEntry, bytes | None, bool]:
        """
        The representation to send: C{(file, coding, gzip-on-the-fly)}. Ranges are
        always served from the identity representation.
        """
        siblings = self._siblings(entry) if entry.sibling_suffixes else {}
        if ranged:
            return entry, None, False
        accepted = accepted_codings(
            _last(raw_headers(request.requestHeaders).get(b"Accept-Encoding"))
        )
        if not accepted:
            return entry, None, False
        wildcard = b"*" in accepted
        for coding, _ in _SIBLINGS:
            sibling = siblings.get(coding)
            if sibling is not None and (coding in accepted or wildcard) and _still(sibling):
                return sibling, coding, False
        if (b"gzip" in accepted or wildcard) and self._gzip_worth(entry):
            if entry.body is None:
                return entry, b"gzip", True
            if self._gzipped(entry) is not None:
                return entry, b"gzip", False
        return entry, None, False

    def _gzip_worth(self, entry: FileEntry) -> bool:
        return bool(self.gzip_min) and entry.media.compressible and entry.size > self.gzip_min

    # --- responses ----------------------------------------------------------------

    def _serve(self, request: IRequest, entry: FileEntry) -> bytes | int:
        # Headers are read and set in Headers' own dict under their canonical names:
        # through getHeader/setRawHeaders they cost a few microseconds each, and a
        # cached file's response is only some twenty microseconds of Python in all.
        asked = raw_headers(request.requestHeaders)
        range_header = _last(asked.get(b"Range"))
        chosen, coding, stream_gzip = self._select(request, entry, range_header is not None)
        if coding is None:
            etag = entry.etag
        elif chosen is entry:
            etag = entry.etag[:-1] + b'-gz"'
        else:
            etag = chosen.etag[:-1] + b"-" + coding[:2] + b'"'
        raw = raw_headers(request.responseHeaders)
        raw[b"ETag"] = [etag]
        raw[b"Last-Modified"] = [entry.last_modified]
        raw[b"Accept-Ranges"] = [b"bytes"]
        if coding is not None or entry.siblings or self._gzip_worth(entry):
            request.responseHeaders.addRawHeader(b"Vary", b"Accept-Encoding")
        if _CONDITIONAL & asked.keys():
            verdict = evaluate_preconditions(
                etag,
                entry.mtime,
                if_match=_last(asked.get(b"If-Match")),
                if_unmodified_since=_last(asked.get(b"If-Unmodified-Since")),
                if_none_match=_last(asked.get(b"If-None-Match")),
                if_modified_since=_last(asked.get(b"If-Modified-Since")),
            )
            if verdict == Precondition.NOT_MODIFIED:
                request.setResponseCode(304)
                return finish_response(request, None)
            if verdict == Precondition.FAILED:
                return _error(request, 412, "precondition failed")
        set_header = request.responseHeaders.setRawHeaders
        set_header(b"Content-Type", [entry.media.content_type])
        if coding is not None:
            set_header(b"Content-Encoding", [coding])
        ranges = None
        if range_header is not None and if_range_allows(
            request.getHeader(b"if-range"), etag, entry.mtime
        ):
            try:
                ranges = parse_range(range_header, entry.size)
            except RangeNotSatisfiableError:
                set_header(b"Content-Range", [b"bytes */%d" % entry.size])
                return _error(request, 416, "range not satisfiable")
        if stream_gzip:
            return self._stream(request, entry, [(0, entry.size)], None, compress=True)
        body = (chosen.gzipped if chosen is entry else chosen.body) if coding else entry.body
        if ranges is None:
            if body is None:
                return self._stream(request, chosen, [(0, chosen.size)], chosen.size)
            return self._from_memory(request, body, [(0, len(body))], len(body))
        request.setResponseCode(206)
        if len(ranges) == 1:
            r = ranges[0]
            set_header(b"Content-Range", [r.content_range(entry.size)])
            if body is None:
                return self._stream(request, entry, [(r.start, r.length)], r.length)
            return self._from_memory(request, body, [(r.start, r.length)], r.length)
        return self._multipart(request, entry, body, ranges)

    def _multipart(
        self, request: IRequest, entry: FileEntry, body: bytes | None, ranges: list[ByteRange]
    ) -> bytes | int:
        boundary = os.urandom(12).hex().encode()
        parts: list[bytes | tuple[int, int]] = []
        length = 0
        for r in ranges:
            head = (
                b"\r\n--" + boundary + b"\r\nContent-Type: " + entry.media.content_type
                + b"\r\nContent-Range: " + r.content_range(entry.size) + b"\r\n\r\n"
            )  # fmt: skip
            parts += [head, (r.start, r.length)]
            length += len(head) + r.length
        tail = b"\r\n--" + boundary + b"--\r\n"
        parts.append(tail)
        length += len(tail)
        request.setHeader(b"Content-Type", b"multipart/byteranges; boundary=" + boundary)
        if body is None:
            return self._stream(request, entry, parts, length)
        return self._from_memory(request, body, parts, length)

    def _from_memory(
        self, request: IRequest, body: bytes, parts: list[bytes | tuple[int, int]], length: int
    ) -> bytes | int:
        """
        A cached body (or parts of it): written at once up to L{stream_above} bytes,
        else streamed from memory as the connection takes it, so that a slow reader
        pins a chunk of it, not the whole (see L{netsuite.web._filebody}).
        """
        if length <= self.stream_above or request.method == b"HEAD":
            out = [p if isinstance(p, bytes) else body[p[0] : p[0] + p[1]] for p in parts]
            return finish_response(request, out[0] if len(out) == 1 else b"".join(out))
        request.setHeader(b"Content-Length", b"%d" % length)
        FileBody(cast(Request, request), io.BytesIO(body), parts, self.clock).start()
        return NOT_DONE_YET

    def _stream(
        self,
        request: IRequest,
        entry: FileEntry,
        parts: list[bytes | tuple[int, int]],
        length: int | None,
        compress: bool = False,
    ) -> bytes | int:
        """Send from disk: files too large to cache, and their gzip on the fly."""
        try:
            f = open(entry.path, "rb")  # noqa: SIM115 (FileBody owns and closes it)
        except OSError:
            return _error(request, 404, "no such file")
        if length is not None:
            request.setHeader(b"Content-Length", b"%d" % length)
        if request.method == b"HEAD":
            f.close()
            return finish_response(request, None)
        # The site builds twisted.web.server.Request: IRequest does not name the consumer
        # methods (registerProducer) or notifyFinish that the body streams through.
        FileBody(cast(Request, request), f, parts, self.clock, compress=compress).start()
        return NOT_DONE_YET

    def _listing(self, request: IRequest, listing: _Listing) -> bytes | int:
        """The directory as HTML, JSON or text, by C{Accept}: directories first."""
        rows: list[tuple[bool, str, int, float]] = []
        truncated = 0
        try:
            with os.scandir(listing.directory) as it:
                for item in it:
                    if item.name.startswith("."):
                        continue
                    if len(rows) >= MAX_LISTING:
                        truncated += 1
                        continue
                    try:
                        st = item.stat()
                        if item.is_symlink() and not self._inside(os.path.realpath(item.path)):
                            continue
                    except OSError:
                        continue
                    is_dir = stat.S_ISDIR(st.st_mode)
                    if is_dir or stat.S_ISREG(st.st_mode):
                        rows.append((is_dir, item.name, st.st_size, st.st_mtime))
        except OSError:
            return _error(request, 403, "cannot list this directory")
        rows.sort(key=lambda r: (not r[0], r[1].casefold(), r[1]))
        request.responseHeaders.addRawHeader(b"Vary", b"Accept")
        request.setHeader(b"Cache-Control", b"no-cache")
        kind = choose_media_type(request.getHeader(b"accept"), _LISTING_TYPES)
        path = listing.url_path
        entries: list[_Entry] = [
            {
                "name": _shown(name) + ("/" if is_dir else ""),
                "type": "dir" if is_dir else "file",
                "size": None if is_dir else size,
                "mtime": datetime.fromtimestamp(mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "href": quote(os.fsencode(name)) + ("/" if is_dir else ""),
            }
            for is_dir, name, size, mtime in rows
        ]
        if kind == "application/json":
            body = json_body(request, {"path": _shown(path), "entries": entries,
                                       "truncated": truncated})  # fmt: skip
        elif kind == "text/plain":
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            lines = [f"{e['name']}\t{'-' if e['size'] is None else e['size']}\t{e['mtime']}"
                     for e in entries]  # fmt: skip
            if truncated:
                lines.append(f"... and {truncated} more")
            body = ("\n".join(lines) + "\n").encode()
        else:
            body = self._listing_html(request, _shown(path), entries, truncated)
        return finish_response(request, body)

    @staticmethod
    def _listing_html(
        request: IRequest, path: str, entries: list[_Entry], truncated: int
    ) -> bytes:
        esc = html.escape
        rows = []
        if path != "/":
            rows.append('<tr><td><a href="../">../</a></td><td></td><td></td></tr>')
        for e in entries:
            size = "" if e["size"] is None else f"{e['size']:,}"
            rows.append(
                f'<tr><td><a href="{esc(e["href"])}">{esc(e["name"])}</a></td>'
                f"<td class=n>{size}</td><td>{e['mtime']}</td></tr>"
            )
        more = f"<p>... and {truncated:,} more.</p>" if truncated else ""
        body = (
            f"<h1>Index of {esc(path)}</h1><table><thead><tr><th>Name</th><th>Size</th>"
            f"<th>Modified (UTC)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"
        )
        return html_page(request, f"Index of {path}", body)


_CONDITIONAL = frozenset(
    {b"If-Match", b"If-Unmodified-Since", b"If-None-Match", b"If-Modified-Since"}
)


def _error(request: IRequest, status: int, message: str) -> int:
    """An error answered in full here (a HEAD gets its length and no body)."""
    return finish_response(request, error_body(request, status, message))


def _last(values: list[bytes] | None) -> bytes | None:
    """The last value of a header (what C{getHeader} returns), or L{None}."""
    return values[-1] if values else None


def _shown(name: str) -> str:
    """A file name as text for people: undecodable bytes become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _still(entry: FileEntry) -> bool:
    """Whether C{entry}'s file is still the one it describes."""
    try:
        return _signature(os.stat(entry.path)) == entry.signature
    except OSError:
        return False
