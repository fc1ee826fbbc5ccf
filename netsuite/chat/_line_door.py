"""The plain-line chat door's Twisted adapter: bytes in and out of a L{LineSession}."""

from __future__ import annotations

from netsuite.chat._door import ChatDoor, ChatDoorFactory
from netsuite.chat._line import LineSession

__all__ = ["LineChat", "LineChatFactory"]


class LineChat(ChatDoor):
    def make_session(self) -> LineSession:
        factory = self.factory
        # The outbox is its own send (no bound method per member).
        return LineSession(factory.hub, self.outbox, self.close, max_line=factory.max_line)

    def begin(self, identity: str | None) -> None:
        """Greet and join: a certificate holder under its certificate's name."""
        self.session.start(identity)


class LineChatFactory(ChatDoorFactory):
    protocol = LineChat
