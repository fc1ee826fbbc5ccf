"""
The sans-IO half of C{netsuite chat}: greeting, nick, rooms, the user's lines, quitting,
losing the connection, and what a reconnect asks back. The server's lines are the line
door's own (rendered by L{netsuite.chat._line.render}, so a change there shows here).
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from netsuite.chat._events import Joined, Parted, Renamed, Said
from netsuite.chat._line import render
from netsuite.client._chat_session import (
    MAX_WAITING,
    QUIT_TIMEOUT,
    Action,
    Backoff,
    ChatClient,
    Exit,
    Hangup,
    Prompt,
    Reconnect,
    Show,
    Status,
    Transmit,
)


def welcome(nick: str) -> bytes:
    return f"-!- welcome to netsuite chat, {nick}. /help lists commands.\r\n".encode()


def joined(room: str, nick: str) -> bytes:
    return render(Joined(room=room, nick=nick))


def sent(actions: list[Action]) -> list[str]:
    return [a.data.decode().rstrip("\r\n") for a in actions if isinstance(a, Transmit)]


def of(kind: type, actions: list[Action]) -> list[Action]:
    return [a for a in actions if isinstance(a, kind)]


class BackoffTests(SynchronousTestCase):
    def test_doubles_up_to_the_cap_and_resets(self) -> None:
        backoff = Backoff()
        self.assertEqual([backoff.next() for _ in range(8)], [1, 2, 4, 8, 16, 30, 30, 30])
        backoff.reset()
        self.assertEqual(backoff.next(), 1)


class GreetingTests(SynchronousTestCase):
    def test_nick_after_the_greeting_and_lines_wait_for_it(self) -> None:
        client = ChatClient(nick="alice")
        client.connected()
        self.assertEqual(client.user_line("hello"), [])  # typed early: waits
        actions = client.data_received(welcome("guest1"))
        self.assertEqual(
            of(Show, actions),
            [Show("-!- welcome to netsuite chat, guest1. /help lists commands.")],
        )
        self.assertEqual(sent(actions), ["/nick alice"])
        self.assertEqual(client.nick, "guest1")
        actions = client.data_received(joined("#lobby", "guest1"))
        self.assertEqual(sent(actions), ["hello"])
        self.assertIn(Prompt("#lobby> "), actions)
        self.assertEqual(client.state, "ready")
        client.data_received(render(Renamed(old="guest1", new="alice")))
        self.assertEqual((client.nick, client.chosen_nick), ("alice", "alice"))
        self.assertEqual(sent(client.user_line("/join rust")), ["/join rust"])

    def test_no_nick_change_when_already_so(self) -> None:
        client = ChatClient(nick="Alice")
        client.connected()
        self.assertEqual(sent(client.data_received(welcome("alice"))), [])

    def test_greeting_split_anywhere(self) -> None:
        client = ChatClient(nick="alice")
        client.connected()
        data = welcome("guest1") + joined("#lobby", "guest1")
        actions: list[Action] = []
        for i in range(len(data)):
            actions += client.data_received(data[i : i + 1])
        self.assertEqual(sent(actions), ["/nick alice"])
        self.assertEqual(client.rooms, {"#lobby": "#lobby"})

    def test_not_a_netsuite_greeting(self) -> None:
        """Another server: nothing to wait for after its first line."""
        client = ChatClient(nick="alice")
        client.connected()
        client.user_line("hi")
        actions = client.data_received(b"hello, whoever you are\n")
        self.assertEqual(sent(actions), ["hi"])
        self.assertEqual(client.state, "ready")

    def test_waiting_lines_are_bounded(self) -> None:
        client = ChatClient()
        client.connected()
        for i in range(MAX_WAITING):
            self.assertEqual(client.user_line(str(i)), [])
        self.assertEqual(len(of(Status, client.user_line("one too many"))), 1)

    def test_server_lines_are_scrubbed(self) -> None:
        client = ChatClient()
        client.connected()
        actions = client.data_received(b"\x1b[2Jboom\x07\r\n")
        self.assertEqual(of(Show, actions), [Show("[2Jboom")])

    def test_overlong_server_line(self) -> None:
        client = ChatClient()
        client.connected()
        actions = client.data_received(b"x" * 70000 + b"\n")
        self.assertIn("was dropped (too long)", of(Status, actions)[0].text)  # type: ignore[attr-defined]


class RoomsTests(SynchronousTestCase):
    def ready(self, nick: str = "alice") -> ChatClient:
        client = ChatClient()
        client.connected()
        client.data_received(welcome(nick) + joined("#lobby", nick))
        return client

    def test_follows_joins_parts_and_the_current_room(self) -> None:
        client = self.ready()
        actions = client.data_received(joined("#rust", "alice") + joined("#rust", "bob"))
        self.assertEqual(list(client.rooms.values()), ["#lobby", "#rust"])
        self.assertEqual(of(Prompt, actions), [Prompt("#rust> ")])
        actions = client.data_received(
            render(Parted(room="#rust", nick="ALICE", reason="bye"))
            + b"-!- talking in #lobby now\r\n"
        )
        self.assertEqual(list(client.rooms.values()), ["#lobby"])
        self.assertEqual(client.current, "#lobby")
        self.assertEqual(of(Prompt, actions), [Prompt("#lobby> ")])
        client.data_received(b"-!- you are already in #lobby; talking there now\r\n")
        self.assertEqual(client.current, "#lobby")

    def test_others_and_messages_change_nothing(self) -> None:
        client = self.ready()
        client.data_received(
            render(Said(sender="bob", text="-> alice joined", room="#lobby"))
            + render(Renamed(old="bob", new="alice2"))
            + render(Parted(room="#lobby", nick="bob"))
            + render(Said(sender="bob", text="x", room="#lobby", kind="action"))
            + b"-!-   #evil (1) - talking in #evil now\r\n"  # a /rooms line with a topic
        )
        self.assertEqual((client.nick, client.current), ("alice", "#lobby"))
        self.assertEqual(client.rooms, {"#lobby": "#lobby"})

    def test_room_names_with_brackets(self) -> None:
        client = self.ready()
        client.data_received(joined("#a]b", "alice"))
        self.assertEqual(client.current, "#a]b")


class QuitTests(SynchronousTestCase):
    def test_quit_then_the_server_closes(self) -> None:
        client = ChatClient()
        client.connected()
        client.data_received(welcome("alice") + joined("#lobby", "alice"))
        actions = client.user_line("/QUIT gone fishing")
        self.assertEqual(sent(actions), ["/QUIT gone fishing"])
        self.assertIn(Hangup(QUIT_TIMEOUT), actions)
        self.assertEqual(client.connection_lost("closed by the server"), [Exit(0)])
        self.assertEqual(client.user_line("late"), [])

    def test_end_of_input_quits(self) -> None:
        client = ChatClient()
        client.connected()
        client.user_line("typed before the greeting")
        self.assertEqual(client.user_eof(), [])
        actions = client.data_received(welcome("alice") + joined("#lobby", "alice"))
        self.assertEqual(sent(actions), ["typed before the greeting", "/quit"])
        self.assertIn(Hangup(QUIT_TIMEOUT), actions)
        self.assertEqual(client.user_eof(), [])  # once is enough

    def test_quitted_is_not_a_command_prefix(self) -> None:
        client = ChatClient()
        client.connected()
        client.data_received(welcome("alice") + joined("#lobby", "alice"))
        client.user_line("/quitted is not /quit")
        self.assertFalse(client.quitting)


class LostTests(SynchronousTestCase):
    def test_without_reconnect_exit_1_with_the_servers_reason(self) -> None:
        client = ChatClient()
        client.connected()
        client.data_received(welcome("alice") + b"-!- closing: flooding\r\n")
        self.assertEqual(
            client.connection_lost("closed by the server"),
            [Status("connection closed by the server (flooding)"), Exit(1)],
        )

    def test_refused_first_time(self) -> None:
        client = ChatClient()
        self.assertEqual(
            client.connect_failed("cannot connect to h:1: connection refused"),
            [Status("cannot connect to h:1: connection refused"), Exit(1)],
        )

    def test_tls_failure_is_never_retried(self) -> None:
        client = ChatClient(reconnect=True)
        actions = client.connect_failed("TLS verification failed for h: ...", retry=False)
        self.assertEqual(actions[-1], Exit(1))


class ReconnectTests(SynchronousTestCase):
    def test_rooms_and_nick_asked_back(self) -> None:
        client = ChatClient(nick="alice", reconnect=True)
        client.connected()
        client.data_received(welcome("guest1") + joined("#lobby", "guest1"))
        client.data_received(render(Renamed(old="guest1", new="alice")))
        client.data_received(joined("#rust", "alice") + joined("#go", "alice"))
        client.data_received(render(Parted(room="#lobby", nick="alice")))
        client.data_received(b"-!- you are already in #rust; talking there now\r\n")
        self.assertEqual(client.current, "#rust")

        actions = client.connection_lost("lost: Connection reset by peer")
        self.assertEqual(
            actions[-2:],
            [
                Status("connection lost: Connection reset by peer; reconnecting in 1s"),
                Reconnect(1),
            ],
        )
        self.assertIn(Prompt("> "), actions)
        self.assertEqual(
            client.user_line("into the void"), [Status("not connected: line not sent")]
        )

        client.connecting()
        self.assertEqual(
            client.connect_failed("cannot connect to h:1: connection refused")[-2:],
            [Status("cannot connect to h:1: connection refused; retrying in 2s"), Reconnect(2)],
        )
        client.connecting()
        client.connected()
        client.user_line("back")
        actions = client.data_received(welcome("guest7"))
        self.assertEqual(sent(actions), ["/nick alice"])
        actions = client.data_received(joined("#lobby", "guest7"))
        # The other rooms, the current one last; the default room left again; then the
        # line typed meanwhile.
        self.assertEqual(sent(actions), ["/join #go", "/join #rust", "/part #lobby", "back"])
        client.data_received(render(Renamed(old="guest7", new="alice")))
        client.data_received(joined("#go", "alice") + joined("#rust", "alice"))
        client.data_received(render(Parted(room="#lobby", nick="alice")))
        self.assertEqual((list(client.rooms), client.current), (["#go", "#rust"], "#rust"))

        # Greeted: the backoff starts again from 1 s.
        self.assertEqual(client.connection_lost("closed by the server")[-1], Reconnect(1))

    def test_current_room_is_the_default_one(self) -> None:
        client = ChatClient(reconnect=True)
        client.connected()
        client.data_received(welcome("alice") + joined("#lobby", "alice"))
        client.data_received(joined("#rust", "alice"))
        client.data_received(b"-!- you are already in #lobby; talking there now\r\n")
        client.connection_lost("closed by the server")
        client.connecting()
        client.connected()
        client.data_received(welcome("alice"))
        actions = client.data_received(joined("#lobby", "alice"))
        self.assertEqual(sent(actions), ["/join #rust", "/join #lobby"])

    def test_lost_again_before_the_rooms_came_back(self) -> None:
        client = ChatClient(reconnect=True)
        client.connected()
        client.data_received(welcome("alice") + joined("#lobby", "alice"))
        client.data_received(joined("#rust", "alice"))
        client.connection_lost("closed by the server")
        client.connecting()
        client.connected()
        client.user_line("typed while greeting")
        actions = client.connection_lost("closed by the server")  # a full server, say
        self.assertIn(Status("1 line not sent"), actions)
        client.connecting()
        client.connected()
        client.data_received(welcome("alice"))
        self.assertEqual(sent(client.data_received(joined("#lobby", "alice"))), ["/join #rust"])

    def test_quit_while_waiting_exits_0(self) -> None:
        client = ChatClient(reconnect=True)
        client.connected()
        client.connection_lost("closed by the server")
        self.assertEqual(client.user_line("/quit"), [Exit(0)])
        client = ChatClient(reconnect=True)
        client.connect_failed("refused")
        self.assertEqual(client.user_eof(), [Exit(0)])
