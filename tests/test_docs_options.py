"""
The docs keep up with the code: every option of every plugin is documented on its door
page(s), and every relative link in the docs points at a file that exists.

The options come from the taps' C{usage.Options} classes (C{optParameters},
C{optFlags} and C{opt_*} methods, gathered over the class's MRO as C{usage.Options}
does), so an option added to a plugin without a line in its page fails here, naming it.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: Which pages document each plugin's options (an option may be on any one of them).
PAGES: dict[str, tuple[str, ...]] = {
    "netsuite.echo.tap": ("doors/echo.md", "doors/datagram.md"),
    "netsuite.chat.tap": ("doors/chat-line.md", "doors/irc.md"),
    "netsuite.web.tap": ("doors/web.md", "doors/websocket.md"),
    "netsuite.suite.tap": ("index.md",),
}

#: Options every usage.Options has: documented by Twisted, not by us.
TWISTED_OPTIONS = frozenset({"help", "version"})

#: Options every plugin takes, documented once on operations.md instead of on each page.
SHARED_OPTIONS = frozenset({"config", "check", "print-config", "log-format", "log-file"})


def option_names(options: type[usage.Options]) -> set[str]:
    """Every long option C{options} accepts, as it is spelled on the command line."""
    names: set[str] = set()
    for cls in inspect.getmro(options):
        for row in vars(cls).get("optParameters", []) or []:
            names.add(row[0])
        for row in vars(cls).get("optFlags", []) or []:
            names.add(row[0])
    for attr in dir(options):
        if attr.startswith("opt_") and callable(getattr(options, attr)):
            names.add(attr[len("opt_") :].replace("_", "-"))
    return {name for name in names if len(name) > 1}


def documented(text: str, name: str) -> bool:
    """Whether C{--NAME} appears in C{text} as a whole option name."""
    return re.search(rf"(?<![\w-])--{re.escape(name)}(?![\w-])", text) is not None


class OptionsDocumentedTests(SynchronousTestCase):
    def test_every_option_on_its_page(self) -> None:
        """Each plugin option appears as C{--NAME} on one of its door pages."""
        missing: list[str] = []
        for module_name, pages in PAGES.items():
            module = __import__(module_name, fromlist=["Options"])
            text = "\n".join((DOCS / page).read_text(encoding="utf-8") for page in pages)
            for name in sorted(option_names(module.Options)):
                if name in TWISTED_OPTIONS or name in SHARED_OPTIONS:
                    continue
                if not documented(text, name):
                    missing.append(f"--{name} ({module_name}) in none of {', '.join(pages)}")
        self.assertEqual(missing, [])

    def test_shared_options_on_the_operations_page(self) -> None:
        text = (DOCS / "operations.md").read_text(encoding="utf-8")
        from netsuite.echo.tap import Options as EchoOptions

        for name in sorted(SHARED_OPTIONS):
            self.assertIn(name, option_names(EchoOptions))
            self.assertTrue(documented(text, name), name)

    def test_option_names_found(self) -> None:
        """The gathering sees parameters, flags and opt_ methods (not an empty pass)."""
        from netsuite.chat.tap import Options as ChatOptions
        from netsuite.echo.tap import Options as EchoOptions
        from netsuite.web.tap import Options as WebOptions

        self.assertIn("udp-deny-privileged", option_names(EchoOptions))  # a flag
        self.assertIn("max-per-ip", option_names(EchoOptions))  # a shared parameter
        self.assertIn("irc-listen", option_names(ChatOptions))  # an opt_ method
        self.assertIn("ws-origin", option_names(WebOptions))

    def test_documented_matches_whole_names(self) -> None:
        self.assertTrue(documented("use `--max-line 10`", "max-line"))
        self.assertFalse(documented("use `--max-line-x 10`", "max-line"))
        self.assertFalse(documented("use `--ws-max-message`", "max-message"))


#: Markdown links and images: [text](target) ; the target up to a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def markdown_files() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def broken_links(path: Path) -> list[str]:
    """The relative link targets in C{path} whose file does not exist (anchors ignored)."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks hold no links
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # http:, mailto: ... and same-page anchors
        if not (path.parent / target.split("#", 1)[0]).exists():
            broken.append(target)
    return broken


class LinksTests(SynchronousTestCase):
    def test_relative_links_exist(self) -> None:
        problems = [
            f"{path.relative_to(ROOT)}: {target}"
            for path in markdown_files()
            for target in broken_links(path)
        ]
        self.assertEqual(problems, [])

    def test_broken_link_found(self) -> None:
        """The check is not vacuous: a link to a missing file is reported."""
        page = Path(self.mktemp())
        page.mkdir()
        (page / "here.md").write_text("[ok](here.md) [gone](nowhere.md#x) [web](https://x)\n")
        self.assertEqual(broken_links(page / "here.md"), ["nowhere.md#x"])
