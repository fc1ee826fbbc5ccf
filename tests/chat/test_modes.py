"""Channel roles and modes, the pure logic: parsing, applying, echoing, every check."""

from __future__ import annotations

from collections.abc import Hashable

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._modes import (
    KEY_MAX,
    LIMIT_MAX,
    MAX_LIST,
    MAX_MODES,
    Change,
    ListEntry,
    ModeError,
    RoomModes,
    canonical_mask,
    change_text,
    mask_matches,
    parse_changes,
)

MEMBERS = {"alice": "Alice", "bob": "Bob", "carol": "carol"}


def resolve(nick: str) -> tuple[Hashable, str]:
    """Members of a pretend room, keyed by their folded nick."""
    if nick.lower() not in MEMBERS:
        raise ModeError("user_not_in_room", "They aren't on that channel", param=nick)
    return nick.lower(), MEMBERS[nick.lower()]


class ParseTests(SynchronousTestCase):
    def test_parameters_in_order(self) -> None:
        """C{+ok-v nick key nick}: each parameter mode takes the next parameter."""
        changes, errors = parse_changes("+ok-v", ["alice", "sekrit", "bob"])
        self.assertEqual(
            changes,
            [Change(True, "o", "alice"), Change(True, "k", "sekrit"), Change(False, "v", "bob")],
        )
        self.assertEqual(errors, [])

    def test_flags_and_limit(self) -> None:
        changes, _ = parse_changes("+mnl-it", ["10"])
        self.assertEqual(
            [(c.add, c.char, c.arg) for c in changes],
            [(True, "m", None), (True, "n", None), (True, "l", "10"),
             (False, "i", None), (False, "t", None)],
        )  # fmt: skip

    def test_missing_parameter_ignored(self) -> None:
        """A type B/C mode or a role without its parameter is ignored (Modern IRC)."""
        self.assertEqual(parse_changes("+kol", []), ([], []))

    def test_minus_k_consumes_its_parameter(self) -> None:
        """C{-k key +o bob}: the key is -k's, bob is +o's."""
        changes, _ = parse_changes("-k+o", ["old", "bob"])
        self.assertEqual(changes, [Change(False, "k"), Change(True, "o", "bob")])
        self.assertEqual(parse_changes("-k", [])[0], [Change(False, "k")])

    def test_minus_l_takes_none(self) -> None:
        changes, _ = parse_changes("-l+v", ["bob"])
        self.assertEqual(changes, [Change(False, "l"), Change(True, "v", "bob")])

    def test_list_without_mask_is_a_query(self) -> None:
        changes, _ = parse_changes("b", [])
        self.assertEqual(changes, [Change(True, "b")])
        self.assertTrue(changes[0].query)
        self.assertFalse(Change(True, "b", "x").query)

    def test_unknown_letters(self) -> None:
        changes, errors = parse_changes("+zn-Q", [])
        self.assertEqual(changes, [Change(True, "n")])
        self.assertEqual(
            [(e.code, e.char) for e in errors], [("unknown_mode", "z"), ("unknown_mode", "Q")]
        )

    def test_max_modes_at_n_and_n_plus_one(self) -> None:
        """MODES: n parameter modes are applied, the (n+1)th is dropped."""
        nicks = [f"n{i}" for i in range(MAX_MODES + 1)]
        changes, _ = parse_changes("+" + "v" * MAX_MODES, nicks[:MAX_MODES])
        self.assertEqual(len(changes), MAX_MODES)
        changes, _ = parse_changes("+" + "v" * (MAX_MODES + 1) + "m", nicks)
        self.assertEqual([c.arg for c in changes if c.char == "v"], nicks[:MAX_MODES])
        self.assertIn(Change(True, "m"), changes)  # flags still count
        self.assertEqual(len(parse_changes("+vv", ["a", "b"], max_modes=1)[0]), 1)

    def test_change_text(self) -> None:
        text = change_text(
            [Change(True, "o", "Alice"), Change(True, "k", "x"), Change(False, "v", "Bob"),
             Change(False, "k", "*"), Change(True, "m")]
        )  # fmt: skip
        self.assertEqual(text, ("+ok-vk+m", ["Alice", "x", "Bob", "*"]))
        self.assertEqual(change_text([]), ("", []))


class MaskTests(SynchronousTestCase):
    def test_canonical(self) -> None:
        self.assertEqual(canonical_mask("bob"), "bob!*@*")
        self.assertEqual(canonical_mask("bob!x"), "bob!x@*")
        self.assertEqual(canonical_mask("*@host"), "*!*@host")
        self.assertEqual(canonical_mask("a!b@c"), "a!b@c")

    def test_glob_case_folded(self) -> None:
        self.assertTrue(mask_matches("bob!*@*", "BOB!bob@netsuite"))
        self.assertTrue(mask_matches("b?b!*@*", "bib!bib@x"))
        self.assertTrue(mask_matches("x[1]!*@*", "x{1}!x@h"))  # RFC 1459 folding, not a class
        self.assertFalse(mask_matches("x[1]!*@*", "x1!x@h"))
        self.assertFalse(mask_matches("bob!*@*", "bobby!bobby@x"))
        self.assertTrue(mask_matches("*!*@netsuite", "anyone!anyone@netsuite"))


class RoomModesTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.modes = RoomModes(created=1000.0)
        self.modes.ops.add("alice")

    def apply(self, modestring: str, *args: str) -> tuple[str, list[str], list[ModeError]]:
        changes, errors = parse_changes(modestring, args)
        applied, refused = self.modes.apply(changes, by="Alice", when=2000.0, resolve=resolve)
        return (*change_text(applied), errors + refused)

    def test_defaults(self) -> None:
        self.assertEqual(self.modes.mode_string(), ("+nt", []))
        self.assertEqual(RoomModes().roles("alice"), "")

    def test_mode_string_with_key_and_limit(self) -> None:
        self.apply("+imsklb", "sekrit", "5", "x")
        self.assertEqual(self.modes.mode_string(), ("+imnstkl", ["sekrit", "5"]))
        self.assertEqual(self.modes.mode_string(show_key=False), ("+imnstkl", ["*", "5"]))

    def test_roles(self) -> None:
        self.assertEqual(self.apply("+ov", "bob", "bob")[:2], ("+ov", ["Bob", "Bob"]))
        self.assertEqual(self.modes.roles("bob"), "ov")
        self.assertEqual(self.modes.prefixes("bob"), "@")
        self.assertEqual(self.modes.prefixes("bob", every=True), "@+")
        self.assertEqual(self.apply("-o", "bob")[:2], ("-o", ["Bob"]))
        self.assertEqual(self.modes.prefixes("bob"), "+")
        self.modes.forget("bob")
        self.assertEqual(self.modes.roles("bob"), "")

    def test_only_real_changes_are_echoed(self) -> None:
        self.assertEqual(self.apply("+nto", "alice")[:2], ("", []))  # all set already
        self.assertEqual(self.apply("-v", "bob")[:2], ("", []))
        self.assertEqual(self.apply("-kl")[:2], ("", []))
        self.apply("+k", "a")
        self.assertEqual(self.apply("+k", "a")[:2], ("", []))
        self.assertEqual(self.apply("+k", "b")[:2], ("+k", ["b"]))

    def test_role_for_someone_not_here(self) -> None:
        text, params, errors = self.apply("+ov", "zed", "bob")
        self.assertEqual((text, params), ("+v", ["Bob"]))
        self.assertEqual([(e.code, e.param) for e in errors], [("user_not_in_room", "zed")])

    def test_key(self) -> None:
        self.assertEqual(self.apply("+k", "sekrit")[:2], ("+k", ["sekrit"]))
        self.assertEqual(self.apply("-k", "whatever")[:2], ("-k", ["*"]))
        self.assertEqual(self.modes.key, "")

    def test_key_length_at_n_and_n_plus_one(self) -> None:
        self.assertEqual(self.apply("+k", "k" * KEY_MAX)[:2], ("+k", ["k" * KEY_MAX]))
        _, _, errors = self.apply("+k", "k" * (KEY_MAX + 1))
        self.assertEqual([(e.code, e.char) for e in errors], [("invalid_mode_param", "k")])

    def test_bad_keys(self) -> None:
        """RFC 2812's key: no space, 7-bit, 23 at most; 696's parameter is C{*} (Ergo)."""
        for key in ("a,b", ":x", "passphrase with spaces", "k" * (KEY_MAX + 1), "cl\u00e9", ""):
            _, _, errors = self.apply("+k", key)
            self.assertEqual([(e.code, e.char, e.param) for e in errors],
                             [("invalid_mode_param", "k", "*")])  # fmt: skip
        self.assertEqual(self.apply("+k", "k" * KEY_MAX)[:2], ("+k", ["k" * KEY_MAX]))

    def test_limit(self) -> None:
        self.assertEqual(self.apply("+l", "10")[:2], ("+l", ["10"]))
        self.assertEqual(self.apply("+l", "10")[:2], ("", []))
        self.assertEqual(self.apply("-l")[:2], ("-l", []))
        self.assertEqual(self.apply("+l", str(LIMIT_MAX))[:2], ("+l", [str(LIMIT_MAX)]))
        for bad in ("0", "-1", "x", str(LIMIT_MAX + 1)):
            errors = self.apply("+l", bad)[2]
            self.assertEqual([(e.code, e.char, e.param) for e in errors],
                             [("invalid_mode_param", "l", bad)])  # fmt: skip

    def test_lists(self) -> None:
        self.assertEqual(self.apply("+be", "bob", "*@good")[:2], ("+be", ["bob!*@*", "*!*@good"]))
        self.assertEqual(self.apply("+b", "BOB")[:2], ("", []))  # already there, folded
        [entry] = self.modes.entries("b")
        self.assertEqual((entry.mask, entry.by, entry.when), ("bob!*@*", "Alice", 2000.0))
        self.assertEqual(self.apply("-b", "bob!*@*")[:2], ("-b", ["bob!*@*"]))
        self.assertEqual(self.apply("-b", "bob")[:2], ("", []))

    def test_bad_masks(self) -> None:
        errors = self.apply("+b", ":x")[2]
        self.assertEqual([(e.code, e.char) for e in errors], [("invalid_mode_param", "b")])

    def test_max_list_at_n_and_n_plus_one(self) -> None:
        """MAXLIST: each list takes n masks; the (n+1)th is refused (478), others apply."""
        for i in range(MAX_LIST):
            self.modes.apply([Change(True, "b", f"m{i}")], by="a", when=0, resolve=resolve)
        self.assertEqual(len(self.modes.entries("b")), MAX_LIST)
        text, params, errors = self.apply("+bI", "extra", "inv")
        self.assertEqual((text, params), ("+I", ["inv!*@*"]))
        self.assertEqual([(e.code, e.char, e.param) for e in errors],
                         [("list_full", "b", "extra!*@*")])  # fmt: skip
        small = RoomModes(max_list=1)
        small.apply([Change(True, "e", "a")], by="a", when=0, resolve=resolve)
        _, errors = small.apply([Change(True, "e", "b")], by="a", when=0, resolve=resolve)
        self.assertEqual([e.code for e in errors], ["list_full"])


class CheckTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.modes = RoomModes()
        self.modes.ops.add("op")

    def refused(self, check, *args, **kw) -> str:  # type: ignore[no-untyped-def]
        with self.assertRaises(ModeError) as e:
            check(*args, **kw)
        return e.exception.code

    def test_join_open(self) -> None:
        self.modes.check_join("bob!bob@h", "", 10, invited=False)

    def test_join_limit_at_n_and_n_plus_one(self) -> None:
        self.modes.limit = 3
        self.modes.check_join("bob!bob@h", "", 2, invited=False)  # the 3rd member
        self.assertEqual(self.refused(self.modes.check_join, "b!b@h", "", 3, invited=False),
                         "room_full")  # fmt: skip
        # Modern IRC: "An INVITE message can be used ... to join despite the limit".
        self.modes.check_join("b!b@h", "", 3, invited=True)

    def test_join_key(self) -> None:
        self.modes.key = "k"
        self.modes.check_join("b!b@h", "k", 1, invited=False)
        self.assertEqual(self.refused(self.modes.check_join, "b!b@h", "", 1, invited=False),
                         "bad_key")  # fmt: skip
        self.assertEqual(self.refused(self.modes.check_join, "b!b@h", "K", 1, invited=True),
                         "bad_key")  # fmt: skip

    def test_join_invite_only(self) -> None:
        self.modes.flags.add("i")
        self.assertEqual(self.refused(self.modes.check_join, "b!b@h", "", 1, invited=False),
                         "invite_only")  # fmt: skip
        self.modes.check_join("b!b@h", "", 1, invited=True)
        self.modes.lists["I"]["*!*@h"] = _entry("*!*@h")
        self.modes.check_join("b!b@h", "", 1, invited=False)

    def test_join_ban_and_exception(self) -> None:
        self.modes.lists["b"]["b!*@*"] = _entry("b!*@*")
        self.assertEqual(self.refused(self.modes.check_join, "B!b@h", "", 1, invited=False),
                         "banned")  # fmt: skip
        self.modes.check_join("b!b@h", "", 1, invited=True)  # an invitation passes a ban
        self.modes.lists["e"]["*!*@h"] = _entry("*!*@h")
        self.modes.check_join("b!b@h", "", 1, invited=False)

    def test_join_order(self) -> None:
        """Limit, then key, then invite, then ban: the first that applies is the answer."""
        self.modes.limit, self.modes.key = 1, "k"
        self.modes.flags.add("i")
        self.modes.lists["b"]["*!*@*"] = _entry("*!*@*")
        join = self.modes.check_join
        self.assertEqual(self.refused(join, "b!b@h", "", 1, invited=False), "room_full")
        self.assertEqual(self.refused(join, "b!b@h", "", 0, invited=False), "bad_key")
        self.assertEqual(self.refused(join, "b!b@h", "k", 0, invited=False), "invite_only")
        self.modes.flags.discard("i")
        self.assertEqual(self.refused(join, "b!b@h", "k", 0, invited=False), "banned")

    def test_speak(self) -> None:
        self.modes.check_speak("bob", "bob!bob@h", member=True)
        self.assertEqual(self.refused(self.modes.check_speak, "x", "x!x@h", member=False),
                         "cannot_send")  # fmt: skip
        self.modes.flags.discard("n")
        self.modes.check_speak("x", "x!x@h", member=False)

    def test_speak_moderated(self) -> None:
        self.modes.flags.add("m")
        self.assertEqual(self.refused(self.modes.check_speak, "bob", "b!b@h", member=True),
                         "cannot_send")  # fmt: skip
        self.modes.voices.add("bob")
        self.modes.check_speak("bob", "b!b@h", member=True)
        self.modes.check_speak("op", "op!op@h", member=True)

    def test_speak_banned(self) -> None:
        self.modes.lists["b"]["b!*@*"] = _entry("b!*@*")
        self.assertEqual(self.refused(self.modes.check_speak, "b", "b!b@h", member=True),
                         "cannot_send")  # fmt: skip
        self.modes.voices.add("b")
        self.modes.check_speak("b", "b!b@h", member=True)

    def test_topic(self) -> None:
        self.modes.check_topic("op")
        self.assertEqual(self.refused(self.modes.check_topic, "bob"), "chanop_needed")
        self.modes.flags.discard("t")
        self.modes.check_topic("bob")

    def test_op_and_invite(self) -> None:
        self.modes.check_op("op")
        self.assertEqual(self.refused(self.modes.check_op, "bob"), "chanop_needed")
        self.modes.check_invite("bob")
        self.modes.flags.add("i")
        self.assertEqual(self.refused(self.modes.check_invite, "bob"), "chanop_needed")
        self.modes.check_invite("op")


def _entry(mask: str) -> ListEntry:
    return ListEntry(mask, "op", 0.0)
