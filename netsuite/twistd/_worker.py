"""
C{python -m netsuite.twistd._worker}: twistd, as a C{--workers} parent starts each worker.

Why a module of our own: C{python -m twisted} is C{twist}, not twistd, and the C{twistd}
script may not sit beside the interpreter (a venv run by path, a zipapp); the parent
needs a command made of C{sys.executable} alone (L{netsuite.twistd._workers}).
"""

from __future__ import annotations

if __name__ == "__main__":  # pragma: no cover - run as a process by the e2e tests
    from twisted.scripts.twistd import run

    run()
