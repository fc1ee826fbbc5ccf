"""
Refresh Twisted's plugin cache once, at install time: C{python -m netsuite.twistd.plugincache}.

Twisted keeps a cache of what each module in C{twisted/plugins} provides
(C{dropin.cache}) and rebuilds it whenever a plugin file is newer. A fresh install has
no cache yet; where site-packages is writable the first C{twistd} run writes it quietly,
but where it is read-only (a system install run by another user, an image's read-only
layer) every run would log "Unable to write to plugin cache". Running this module as the
installing user, right after C{pip install}, writes the cache once so that never happens.
It exits non-zero, naming the file, if the cache could not be written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from twisted.application.service import IServiceMaker
from twisted.plugin import IPlugin, getPlugins

__all__ = ["main", "refresh"]


def refresh() -> tuple[Path, list[str], bool]:
    """
    Rebuild the cache; return its path, our twistd plugins, and whether it is now fresh.

    Twisted only logs a failed write, so freshness is checked the way Twisted itself
    decides to rebuild: the cache must exist and be no older than any plugin module.
    """
    import twisted.plugins

    list(getPlugins(IPlugin))
    names = sorted(m.tapname for m in getPlugins(IServiceMaker) if "netsuite" in m.tapname)
    directories = [Path(p) for p in twisted.plugins.__path__]
    home = next((d for d in directories if (d / "netsuite_plugins.py").exists()), directories[0])
    cache = home / "dropin.cache"
    newest = max((f.stat().st_mtime for f in home.glob("*.py")), default=0.0)
    fresh = cache.exists() and cache.stat().st_mtime >= newest
    return cache, names, fresh


def main() -> int:
    """Command-line entry: refresh, report, exit 0 when the cache is fresh."""
    cache, names, fresh = refresh()
    if not fresh:
        print(
            f"netsuite.twistd.plugincache: could not write {cache}; run this as the user who "
            "installed netsuite (twistd still works, but logs that it cannot write it)",
            file=sys.stderr,
        )
        return 1
    print(f"plugin cache {cache} is fresh; twistd plugins: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
