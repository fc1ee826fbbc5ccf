"""
Media types of served files, decided by the last suffix only.

Why not C{mimetypes.guess_type}: it reads C{x.tar.gz} as "a tar file, gzip-encoded",
and Twisted's C{static.File} turns that into C{Content-Encoding: gzip}, so browsers and
curl unpack the archive while saving it under its C{.tar.gz} name. A file is served as
itself: C{x.tar.gz} is C{application/gzip} with no content coding. Only netsuite's own
choice of a precompressed sibling (C{x.css.br} for C{x.css}) sets C{Content-Encoding}.

The table is fixed here rather than read from C{/etc/mime.types}, so the same file gets
the same type on every machine.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

__all__ = ["COMPRESSED_SUFFIXES", "MediaType", "media_type"]

_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".css": "text/css", ".txt": "text/plain",
    ".md": "text/markdown", ".csv": "text/csv", ".js": "text/javascript",
    ".mjs": "text/javascript", ".json": "application/json", ".map": "application/json",
    ".webmanifest": "application/manifest+json", ".xml": "application/xml",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon", ".woff": "font/woff", ".woff2": "font/woff2",
    ".ttf": "font/ttf", ".otf": "font/otf", ".wasm": "application/wasm",
    ".pdf": "application/pdf", ".zip": "application/zip", ".tar": "application/x-tar",
    ".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    # Compressed files are served as what they are, never as a content coding.
    ".gz": "application/gzip", ".tgz": "application/gzip", ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz", ".zst": "application/zstd", ".br": "application/octet-stream",
    ".z": "application/x-compress", ".7z": "application/x-7z-compressed",
}  # fmt: skip

#: Suffixes of files that are compressed already: never gzipped again, and the
#: suffixes a precompressed sibling may have.
COMPRESSED_SUFFIXES = frozenset({".gz", ".tgz", ".bz2", ".xz", ".zst", ".br", ".z", ".zip",
                                 ".7z"})  # fmt: skip

_TEXTUAL = ("text/", "application/json", "application/manifest+json", "application/xml",
            "image/svg+xml")  # fmt: skip
_COMPRESSIBLE = (*_TEXTUAL, "application/wasm", "font/ttf", "font/otf",
                 "image/vnd.microsoft.icon")  # fmt: skip

#: Python's built-in table only (no system files), for suffixes not listed above.
_FALLBACK = mimetypes.MimeTypes().types_map[True]


@dataclass(frozen=True)
class MediaType:
    """
    @ivar content_type: the C{Content-Type} value, with a charset for text.
    @ivar compressible: whether gzip is worth trying on it.
    """

    content_type: bytes
    compressible: bool


def media_type(name: str, charset: str = "utf-8") -> MediaType:
    """The media type of a file called C{name}; unknown suffixes are octet streams."""
    suffix = name[name.rfind(".") :].lower() if "." in name.lstrip(".") else ""
    kind = _TYPES.get(suffix) or _FALLBACK.get(suffix) or "application/octet-stream"
    value = kind
    if charset and kind.startswith(_TEXTUAL):
        value = f"{kind}; charset={charset}"
    compressible = kind.startswith(_COMPRESSIBLE) and suffix not in COMPRESSED_SUFFIXES
    return MediaType(value.encode("ascii"), compressible)
