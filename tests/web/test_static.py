"""
Static files through the whole site (channel, request, resource) in memory: what is
served and how (ranges, conditions, codings, listings), and every way of reaching what
must not be served.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from netsuite.web import WebConfig
from tests.web.helpers import WebClient, make_tree, touch_later


class StaticTestCase(SynchronousTestCase):
    config_extra: dict[str, object] = {}

    def setUp(self) -> None:
        self.root = make_tree(Path(self.mktemp()).resolve() / "root")
        self.client = WebClient(WebConfig(static_root=str(self.root), **self.config_extra))

    def get(self, path: str | bytes, *headers: tuple[str, str]):  # type: ignore[no-untyped-def]
        return self.client.get(path, headers)


class ServingTests(StaticTestCase):
    def test_file(self) -> None:
        r = self.get("/hello.txt")
        self.assertEqual((r.status, r.body), (200, b"hello, world\n"))
        self.assertEqual(r.header("content-type"), "text/plain; charset=utf-8")
        self.assertEqual(r.header("content-length"), "13")
        self.assertEqual(r.header("accept-ranges"), "bytes")
        self.assertRegex(r.header("etag") or "", r'^"[0-9a-f]+-d-[0-9a-f]+"$')
        self.assertRegex(r.header("last-modified") or "", r"GMT$")

    def test_head_has_the_length_of_get_and_no_body(self) -> None:
        r = self.client.connect().request("HEAD", "/hello.txt")
        self.assertEqual((r.status, r.header("content-length"), r.body), (200, "13", b""))

    def test_index_html(self) -> None:
        r = self.get("/")
        self.assertEqual(r.body, b"<!doctype html><title>home</title>\n")
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")

    def test_directory_without_slash_redirects(self) -> None:
        r = self.get("/docs?x=1")
        self.assertEqual((r.status, r.header("location")), (301, "/docs/?x=1"))

    def test_redirect_is_never_protocol_relative(self) -> None:
        """C{//evil.example} must not become C{Location: //evil.example/} (open redirect)."""
        (self.root / "evil.example").mkdir()
        r = self.get("//evil.example")
        self.assertEqual((r.status, r.header("location")), (301, "/evil.example/"))

    def test_file_with_trailing_slash_is_404(self) -> None:
        self.assertEqual(self.get("/hello.txt/").status, 404)

    def test_missing_is_404(self) -> None:
        self.assertEqual(self.get("/nothing.txt").status, 404)

    def test_post_is_405(self) -> None:
        r = self.client.connect().request("POST", "/hello.txt", body=b"x")
        self.assertEqual((r.status, r.header("allow")), (405, "GET, HEAD, OPTIONS"))

    def test_options(self) -> None:
        r = self.client.connect().request("OPTIONS", "/hello.txt")
        self.assertEqual((r.status, r.header("allow")), (204, "GET, HEAD, OPTIONS"))

    def test_keep_alive_serves_many_on_one_connection(self) -> None:
        conn = self.client.connect()
        for _ in range(3):
            self.assertEqual(conn.request("GET", "/hello.txt").body, b"hello, world\n")
        self.assertFalse(conn.closing)

    def test_pipelined_requests_are_answered_in_order(self) -> None:
        conn = self.client.connect()
        conn.heads += [False, False]
        first = b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        conn.send(first + b"GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n\r\n")  # one segment
        self.assertEqual([r.body for r in conn.responses()], [b"hello, world\n", b"a" * 10])


class TypeTests(StaticTestCase):
    def test_tar_gz_is_a_gzip_file_not_an_encoding(self) -> None:
        """Twisted's static.File says Content-Encoding: gzip; clients then unpack it."""
        data = gzip.compress(b"tar bytes")
        (self.root / "release.tar.gz").write_bytes(data)
        for accept in ("", "gzip, br"):
            r = self.get("/release.tar.gz", ("Accept-Encoding", accept))
            self.assertEqual(r.header("content-type"), "application/gzip")
            self.assertIsNone(r.header("content-encoding"))
            self.assertEqual(r.body, data)

    def test_rpy_is_served_as_bytes_not_run(self) -> None:
        """What twistd web --path would execute is only ever read and sent."""
        source = b"from twisted.web.static import Data\nresource = Data(b'RAN', 'text/plain')\n"
        for name in ("page.rpy", "page.epy", "script.cgi", "page.py"):
            (self.root / name).write_bytes(source)
            r = self.get("/" + name)
            self.assertEqual((r.status, r.body), (200, source), name)
            self.assertNotIn(b"RAN", r.body.replace(b"b'RAN'", b""))
            self.assertFalse((r.header("content-type") or "").startswith("text/html"))

    def test_nosniff_on_files(self) -> None:
        self.assertEqual(self.get("/hello.txt").header("x-content-type-options"), "nosniff")


class ConditionalTests(StaticTestCase):
    def test_if_none_match_gives_304_without_length(self) -> None:
        etag = self.get("/hello.txt").header("etag")
        r = self.get("/hello.txt", ("If-None-Match", f'"other", {etag}'))
        self.assertEqual((r.status, r.body, r.header("etag")), (304, b"", etag))
        self.assertIsNone(r.header("content-length"))

    def test_weak_if_none_match_matches(self) -> None:
        etag = self.get("/hello.txt").header("etag")
        self.assertEqual(self.get("/hello.txt", ("If-None-Match", f"W/{etag}")).status, 304)

    def test_if_modified_since(self) -> None:
        last = self.get("/hello.txt").header("last-modified") or ""
        self.assertEqual(self.get("/hello.txt", ("If-Modified-Since", last)).status, 304)
        older = "Sat, 01 Jan 2000 00:00:00 GMT"
        self.assertEqual(self.get("/hello.txt", ("If-Modified-Since", older)).status, 200)

    def test_if_none_match_wins_over_if_modified_since(self) -> None:
        last = self.get("/hello.txt").header("last-modified") or ""
        r = self.get("/hello.txt", ("If-None-Match", '"stale"'), ("If-Modified-Since", last))
        self.assertEqual(r.status, 200)

    def test_if_match_failure_is_412(self) -> None:
        self.assertEqual(self.get("/hello.txt", ("If-Match", '"nope"')).status, 412)

    def test_edit_changes_etag_and_content(self) -> None:
        """The cache is revalidated by stat: a changed file is served changed."""
        first = self.get("/hello.txt")
        (self.root / "hello.txt").write_bytes(b"changed!\n")
        touch_later(self.root / "hello.txt")
        second = self.get("/hello.txt")
        self.assertEqual(second.body, b"changed!\n")
        self.assertNotEqual(first.header("etag"), second.header("etag"))
        r = self.get("/hello.txt", ("If-None-Match", first.header("etag") or ""))
        self.assertEqual(r.status, 200)

    def test_same_size_same_second_edit_is_seen(self) -> None:
        """Replaced by another file (new inode) of the same size and mtime: still seen."""
        self.get("/hello.txt")
        st = (self.root / "hello.txt").stat()
        replacement = self.root / "new.tmp"
        replacement.write_bytes(b"HELLO, WORLD\n")
        os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(replacement, self.root / "hello.txt")
        self.assertEqual(self.get("/hello.txt").body, b"HELLO, WORLD\n")

    def test_deleted_file_is_404(self) -> None:
        self.get("/hello.txt")
        (self.root / "hello.txt").unlink()
        self.assertEqual(self.get("/hello.txt").status, 404)


class RangeTests(StaticTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.data = bytes(range(256)) * 4
        (self.root / "data.bin").write_bytes(self.data)

    def test_single_range(self) -> None:
        r = self.get("/data.bin", ("Range", "bytes=10-19"))
        self.assertEqual((r.status, r.body), (206, self.data[10:20]))
        self.assertEqual(r.header("content-range"), "bytes 10-19/1024")
        self.assertEqual(r.header("content-length"), "10")

    def test_suffix_and_open_ranges(self) -> None:
        self.assertEqual(self.get("/data.bin", ("Range", "bytes=-5")).body, self.data[-5:])
        self.assertEqual(self.get("/data.bin", ("Range", "bytes=1000-")).body, self.data[1000:])

    def test_multiple_ranges_are_multipart(self) -> None:
        r = self.get("/data.bin", ("Range", "bytes=0-1, 100-102"))
        self.assertEqual(r.status, 206)
        m = re.match(r"multipart/byteranges; boundary=(\S+)$", r.header("content-type") or "")
        assert m is not None
        boundary = m.group(1).encode()
        self.assertEqual(int(r.header("content-length") or 0), len(r.body))
        parts = r.body.split(b"--" + boundary)
        self.assertEqual(parts[-1], b"--\r\n")
        self.assertIn(b"Content-Range: bytes 0-1/1024\r\n\r\n" + self.data[0:2], parts[1])
        self.assertIn(b"Content-Range: bytes 100-102/1024\r\n\r\n" + self.data[100:103], parts[2])

    def test_unsatisfiable_is_416(self) -> None:
        r = self.get("/data.bin", ("Range", "bytes=5000-6000"))
        self.assertEqual((r.status, r.header("content-range")), (416, "bytes */1024"))

    def test_malformed_range_is_ignored(self) -> None:
        r = self.get("/data.bin", ("Range", "bytes=9-2"))
        self.assertEqual((r.status, len(r.body)), (200, 1024))

    def test_if_range_with_current_etag_gives_range(self) -> None:
        etag = self.get("/data.bin").header("etag") or ""
        r = self.get("/data.bin", ("Range", "bytes=0-3"), ("If-Range", etag))
        self.assertEqual((r.status, r.body), (206, self.data[:4]))

    def test_if_range_with_old_etag_gives_everything(self) -> None:
        r = self.get("/data.bin", ("Range", "bytes=0-3"), ("If-Range", '"old"'))
        self.assertEqual((r.status, len(r.body)), (200, 1024))

    def test_if_range_with_date(self) -> None:
        last = self.get("/data.bin").header("last-modified") or ""
        r = self.get("/data.bin", ("Range", "bytes=0-3"), ("If-Range", last))
        self.assertEqual(r.status, 206)
        r = self.get(
            "/data.bin", ("Range", "bytes=0-3"), ("If-Range", "Sat, 01 Jan 2000 0:0:0 GMT")
        )
        self.assertEqual(r.status, 200)


class LargeFileTests(StaticTestCase):
    """Files above cache_file_max are streamed from disk by a producer."""

    config_extra = {"cache_file_max": 1000}

    def setUp(self) -> None:
        super().setUp()
        self.data = os.urandom(300_000)
        (self.root / "big.bin").write_bytes(self.data)
        self.text = b"".join(b"line %d of a long text file\n" % i for i in range(20_000))
        (self.root / "big.txt").write_bytes(self.text)

    def test_streamed_whole(self) -> None:
        r = self.get("/big.bin")
        self.assertEqual((r.status, r.header("content-length"), r.body),
                         (200, "300000", self.data))  # fmt: skip
        self.assertEqual(len(self.client.site.static.cache), 1)  # metadata only
        self.assertLess(self.client.site.static.cache.bytes, 1000)

    def test_streamed_range(self) -> None:
        r = self.get("/big.bin", ("Range", "bytes=200000-200009"))
        self.assertEqual((r.status, r.body), (206, self.data[200000:200010]))

    def test_streamed_multipart(self) -> None:
        r = self.get("/big.bin", ("Range", "bytes=0-0,299999-"))
        self.assertEqual(r.status, 206)
        self.assertEqual(int(r.header("content-length") or 0), len(r.body))
        self.assertIn(self.data[-1:] + b"\r\n--", r.body)

    def test_streamed_gzip_on_the_fly(self) -> None:
        r = self.get("/big.txt", ("Accept-Encoding", "gzip"))
        self.assertEqual((r.status, r.header("content-encoding")), (200, "gzip"))
        self.assertEqual(r.header("transfer-encoding"), "chunked")
        self.assertEqual(gzip.decompress(r.body), self.text)

    def test_producer_yields_between_chunks(self) -> None:
        """One turn of the reactor sends at most chunks_per_turn chunks."""
        conn = self.client.connect()
        conn.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        self.client.clock.advance(0)
        self.assertLess(len(conn.transport.value()), 8 * 65536 + 1024)
        self.assertEqual(conn.responses()[0].body, self.data)

    def test_client_gone_closes_the_file(self) -> None:
        conn = self.client.connect()
        conn.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        self.client.clock.advance(0)
        conn.lose()
        self.client.pump()
        self.assertEqual(self.client.site.open, set())


class CompressionTests(StaticTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.css = b".a{color:red}\n" * 200
        (self.root / "site.css").write_bytes(self.css)

    def test_gzip_on_the_fly_for_compressible_text(self) -> None:
        r = self.get("/site.css", ("Accept-Encoding", "gzip, deflate"))
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(gzip.decompress(r.body), self.css)
        self.assertEqual(r.header("vary"), "Accept-Encoding")
        self.assertEqual(r.header("content-type"), "text/css; charset=utf-8")

    def test_gzip_etag_differs_and_revalidates(self) -> None:
        plain = self.get("/site.css").header("etag")
        packed = self.get("/site.css", ("Accept-Encoding", "gzip")).header("etag") or ""
        self.assertNotEqual(plain, packed)
        r = self.get("/site.css", ("Accept-Encoding", "gzip"), ("If-None-Match", packed))
        self.assertEqual(r.status, 304)

    def test_no_gzip_without_accept_encoding_but_vary(self) -> None:
        r = self.get("/site.css")
        self.assertIsNone(r.header("content-encoding"))
        self.assertEqual(r.body, self.css)
        self.assertEqual(r.header("vary"), "Accept-Encoding")

    def test_refused_gzip_is_not_sent(self) -> None:
        r = self.get("/site.css", ("Accept-Encoding", "gzip;q=0, br;q=0"))
        self.assertIsNone(r.header("content-encoding"))

    def test_small_files_are_not_gzipped(self) -> None:
        r = self.get("/hello.txt", ("Accept-Encoding", "gzip"))
        self.assertIsNone(r.header("content-encoding"))
        self.assertIsNone(r.header("vary"))

    def test_images_are_not_gzipped(self) -> None:
        (self.root / "pic.png").write_bytes(b"\x89PNG" + b"\0" * 5000)
        r = self.get("/pic.png", ("Accept-Encoding", "gzip"))
        self.assertIsNone(r.header("content-encoding"))

    def test_range_requests_get_the_identity(self) -> None:
        r = self.get("/site.css", ("Accept-Encoding", "gzip"), ("Range", "bytes=0-3"))
        self.assertEqual((r.status, r.body, r.header("content-encoding")), (206, b".a{c", None))

    def test_precompressed_siblings(self) -> None:
        (self.root / "site.css.br").write_bytes(b"BROTLI-BYTES")
        (self.root / "site.css.gz").write_bytes(gzip.compress(self.css))
        self.client.clock.advance(10)  # past the sibling recheck
        r = self.get("/site.css", ("Accept-Encoding", "gzip, deflate, br"))
        self.assertEqual((r.header("content-encoding"), r.body), ("br", b"BROTLI-BYTES"))
        self.assertEqual(r.header("content-type"), "text/css; charset=utf-8")
        self.assertEqual(r.header("vary"), "Accept-Encoding")
        r = self.get("/site.css", ("Accept-Encoding", "gzip"))
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(gzip.decompress(r.body), self.css)
        r = self.get("/site.css")
        self.assertEqual((r.header("content-encoding"), r.body), (None, self.css))
        self.assertEqual(r.header("vary"), "Accept-Encoding")

    def test_sibling_requested_directly_is_itself(self) -> None:
        (self.root / "site.css.gz").write_bytes(gzip.compress(self.css))
        r = self.get("/site.css.gz", ("Accept-Encoding", "gzip"))
        self.assertEqual(r.header("content-type"), "application/gzip")
        self.assertIsNone(r.header("content-encoding"))

    def test_sibling_escaping_the_root_is_not_used(self) -> None:
        outside = self.root.parent / "outside.br"
        outside.write_bytes(b"SECRET")
        (self.root / "site.css.br").symlink_to(outside)
        self.client.clock.advance(10)
        r = self.get("/site.css", ("Accept-Encoding", "br"))
        self.assertNotEqual(r.body, b"SECRET")
        self.assertIsNone(r.header("content-encoding"))


class ListingTests(StaticTestCase):
    def test_html_listing_dirs_first_escaped_with_csp(self) -> None:
        (self.root / "docs" / "<b>.txt").write_bytes(b"x")
        r = self.get("/docs/")
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        csp = r.header("content-security-policy") or ""
        self.assertIn("default-src 'none'", csp)
        self.assertNotIn("script-src", csp)
        body = r.body.decode()
        self.assertLess(body.index("zdir/"), body.index("a.txt"))
        self.assertIn("&lt;b&gt;.txt", body)
        self.assertIn('href="%3Cb%3E.txt"', body)
        self.assertNotIn(".secret", body)
        self.assertIn('href="../"', body)

    def test_json_listing(self) -> None:
        r = self.get("/docs/", ("Accept", "application/json"))
        listing = r.json()
        self.assertEqual(listing["path"], "/docs/")
        names = [(e["name"], e["type"], e["size"]) for e in listing["entries"]]
        self.assertEqual(names, [("zdir/", "dir", None), ("a.txt", "file", 10),
                                 ("b.css", "file", 30)])  # fmt: skip
        self.assertRegex(listing["entries"][1]["mtime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(r.header("vary"), "Accept")

    def test_text_listing(self) -> None:
        r = self.get("/docs/", ("Accept", "text/plain"))
        lines = r.body.decode().splitlines()
        self.assertEqual([line.split("\t")[:2] for line in lines],
                         [["zdir/", "-"], ["a.txt", "10"], ["b.css", "30"]])  # fmt: skip

    def test_accept_q_values(self) -> None:
        r = self.get("/docs/", ("Accept", "text/html;q=0.5, application/json;q=0.9"))
        self.assertEqual(r.header("content-type"), "application/json; charset=utf-8")

    def test_listing_off(self) -> None:
        client = WebClient(WebConfig(static_root=str(self.root), listings=False))
        self.assertEqual(client.get("/docs/").status, 404)
        self.assertEqual(client.get("/").status, 200)  # index.html still served

    def test_listing_leaves_out_escaping_symlinks(self) -> None:
        (self.root.parent / "outside").mkdir()
        (self.root / "docs" / "out").symlink_to(self.root.parent / "outside")
        (self.root / "docs" / "in").symlink_to(self.root / "docs" / "zdir")
        names = [e["name"] for e in self.get("/docs/", ("Accept", "application/json")).json()[
            "entries"]]  # fmt: skip
        self.assertIn("in/", names)
        self.assertNotIn("out/", names)


class RefusalTests(StaticTestCase):
    """Every spelling of "outside the tree" and "hidden" is refused."""

    def setUp(self) -> None:
        super().setUp()
        self.secret = self.root.parent / "secret.txt"
        self.secret.write_bytes(b"TOP SECRET")

    def assertRefused(self, path: bytes, status: int) -> None:
        r = self.get(path)
        self.assertEqual(r.status, status, path)
        self.assertNotIn(b"TOP SECRET", r.body)
        self.assertNotIn(b"hunter2", r.body)

    def test_traversal_spellings(self) -> None:
        for path in (
            b"/../secret.txt",
            b"/docs/../../secret.txt",
            b"/%2e%2e/secret.txt",
            b"/%2E%2E/secret.txt",
            b"/.%2e/secret.txt",
            b"/%2e./secret.txt",
            b"/docs/%2e%2e/%2e%2e/secret.txt",
            b"/..%2fsecret.txt",
            b"/docs%2f..%2f..%2fsecret.txt",
            b"/%2f..%2fsecret.txt",
            b"/..%5csecret.txt",
            b"/..\\secret.txt",
            b"/docs\\..\\..\\secret.txt",
            b"/hello.txt%00.png",
            b"/%00",
            b"/./hello.txt",
            b"/docs/%2e/a.txt",
        ):
            self.assertRefused(path, 400)
        self.assertEqual(self.client.site.counters["refused.traversal"], 17)

    def test_double_encoding_is_not_decoded_twice(self) -> None:
        self.assertRefused(b"/%252e%252e/secret.txt", 404)

    def test_dotfiles_are_hidden(self) -> None:
        for path in (b"/.env", b"/.git/config", b"/.git/", b"/docs/.secret", b"/%2eenv"):
            self.assertRefused(path, 404)

    def test_well_known_is_served(self) -> None:
        self.assertEqual(self.get("/.well-known/security.txt").status, 200)

    def test_symlink_to_a_file_outside(self) -> None:
        (self.root / "link.txt").symlink_to(self.secret)
        self.assertRefused(b"/link.txt", 404)
        self.assertEqual(self.client.site.counters["refused.symlink_escape"], 1)

    def test_symlink_to_a_directory_outside(self) -> None:
        (self.root / "up").symlink_to(self.root.parent)
        self.assertRefused(b"/up/secret.txt", 404)
        self.assertRefused(b"/up/", 404)

    def test_symlink_into_a_hidden_directory(self) -> None:
        (self.root / "cfg").symlink_to(self.root / ".git" / "config")
        self.assertRefused(b"/cfg", 404)

    def test_symlink_inside_the_root_is_followed(self) -> None:
        (self.root / "alias.txt").symlink_to(self.root / "hello.txt")
        self.assertEqual(self.get("/alias.txt").body, b"hello, world\n")

    def test_symlink_swapped_to_outside_after_caching(self) -> None:
        link = self.root / "swap.txt"
        link.symlink_to(self.root / "hello.txt")
        self.assertEqual(self.get("/swap.txt").status, 200)
        link.unlink()
        link.symlink_to(self.secret)
        self.assertRefused(b"/swap.txt", 404)

    def test_fifo_is_never_opened(self) -> None:
        """Opening a FIFO with no writer would block the whole reactor."""
        os.mkfifo(self.root / "pipe")
        self.assertRefused(b"/pipe", 404)

    def test_root_itself_as_a_symlink_target_is_fine(self) -> None:
        linked = self.root.parent / "linked-root"
        linked.symlink_to(self.root)
        client = WebClient(WebConfig(static_root=str(linked)))
        self.assertEqual(client.get("/hello.txt").status, 200)


class CacheTests(SynchronousTestCase):
    def test_total_bytes_bounded(self) -> None:
        root = make_tree(Path(self.mktemp()) / "root")
        for i in range(20):
            (root / f"f{i}.bin").write_bytes(bytes([i]) * 1000)
        client = WebClient(WebConfig(static_root=str(root), cache_bytes=5000))
        for i in range(20):
            self.assertEqual(client.get(f"/f{i}.bin").body, bytes([i]) * 1000)
        cache = client.site.static.cache
        self.assertLessEqual(cache.bytes, 5000)
        self.assertLess(len(cache), 20)
        self.assertEqual(client.get("/f0.bin").body, bytes([0]) * 1000)  # evicted: reread
