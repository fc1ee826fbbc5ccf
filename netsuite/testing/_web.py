"""
The web site in memory: a netsuite site on a test clock, and an HTTP client that
reaches it without sockets.

treq's L{StubTreq} answers requests from a resource tree through Twisted's own
C{Site}; L{web_client} also accepts a whole site (ours, from L{memory_site}, or any
Twisted C{Site}), so what the site does around its resources (headers it adds, limits,
logs) is in the answer too. That needs one private attribute of treq's
C{RequestTraversalAgent} (the site it serves from): it is set in L{_serve_from} only,
and L{tests.testing.test_web} fails there if treq renames it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from treq.testing import StubTreq
from twisted.internet.testing import MemoryReactorClock
from twisted.web.resource import IResource
from twisted.web.server import Site

from netsuite.web import WebConfig, WebSite, build_site

__all__ = ["memory_site", "web_client"]


def memory_site(
    files: Mapping[str, bytes] | None = None,
    *,
    config: WebConfig | None = None,
    clock: MemoryReactorClock | None = None,
    **build: Any,
) -> WebSite:
    """
    The netsuite web site (L{build_site}) on a L{MemoryReactorClock}, serving C{files}
    (relative path -> content) from a fresh temporary directory, started and ready.

    Example::

        site = memory_site({"hello.txt": b"hi"})
        client = web_client(site)

    @param config: the site's L{WebConfig}; its C{static_root} is replaced by the
        temporary directory when C{files} is given.
    @param clock: the site's reactor (C{site.reactor}); a new one by default.
    @param build: more of L{build_site}'s arguments (C{hub}, C{stats}, C{children} ...).
    """
    config = config or WebConfig()
    if files is not None:
        root = Path(tempfile.mkdtemp(prefix="netsuite-site-"))
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        config = replace(config, static_root=str(root))
    site = build_site(
        config, reactor=clock if clock is not None else MemoryReactorClock(), **build
    )
    site.doStart()
    return site


def web_client(site_or_resource: Site | IResource) -> StubTreq:
    """
    A treq-compatible client (C{get}, C{post}, C{json_content} ...) answered in memory
    by C{site_or_resource}: a C{Site} (the netsuite site from L{memory_site}) or a bare
    resource tree. Requests complete synchronously; call C{client.flush()} after a
    resource that answers later.

    Example::

        client = web_client(memory_site())
        response = successResultOf(client.get("http://example/api/health"))
        assert response.code == 200
    """
    if isinstance(site_or_resource, Site):
        client = StubTreq(site_or_resource.resource)
        _serve_from(client, site_or_resource)
        return client
    return StubTreq(site_or_resource)


def _serve_from(client: StubTreq, site: Site) -> None:
    """Make C{client} answer from C{site} itself (treq builds a plain C{Site})."""
    agent = client._agent
    if not hasattr(agent, "_serverFactory"):
        raise RuntimeError("treq.testing.RequestTraversalAgent has no _serverFactory any more")
    agent._serverFactory = site
