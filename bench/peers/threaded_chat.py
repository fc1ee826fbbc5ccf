"""
The tutorial's threaded chat room (seed-tutorial.txt, 4.1.1), as a baseline for chat.py.

Why keep its shape: it is the "thread per client, sendall to everyone" server the design
notes measured (440k deliveries/s at 50 members), so it stays as written: one thread per
client, C{recv(1024)}, and the raw chunk C{sendall} to each client in turn, no lock, no
limits, no backpressure (a slow reader blocks the sender's thread).

Changes, all for the benchmark: it listens on an ephemeral loopback port and prints it;
the backlog is 512, not 5 (500 members connect at once; setup only); threads are
daemons; by default the sender gets its own message too, as in netsuite and the naive
Twisted broadcast, so every server has M receivers (C{--skip-sender} restores the
tutorial's C{if client != sender}: M - 1 receivers); C{--nodelay} sets TCP_NODELAY on
each client socket, as netsuite does (see bench/README.md for why chat.py uses it).
"""

import socket
import sys
import threading


class ChatServer:
    """A list of client sockets; each client's thread broadcasts what it reads."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        skip_sender: bool = False,
        nodelay: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.skip_sender = skip_sender
        self.nodelay = nodelay
        self.clients: list[socket.socket] = []
        self.server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server_socket.bind((self.host, self.port))
        self.server_socket.listen(512)

    def broadcast_message(self, message: bytes, sender: socket.socket) -> None:
        for client in self.clients:
            if client != sender or not self.skip_sender:
                client.sendall(message)

    def handle_client(self, client_socket: socket.socket) -> None:
        while True:
            try:
                message = client_socket.recv(1024)
                if not message:
                    break
                self.broadcast_message(message, client_socket)
            except Exception:
                break
        client_socket.close()
        self.clients.remove(client_socket)

    def run(self) -> None:
        print(self.server_socket.getsockname()[1], flush=True)
        while True:
            client, addr = self.server_socket.accept()
            if self.nodelay:
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.clients.append(client)
            client_handler = threading.Thread(
                target=self.handle_client, args=(client,), daemon=True
            )
            client_handler.start()


if __name__ == "__main__":
    flags = sys.argv[1:]
    ChatServer(skip_sender="--skip-sender" in flags, nodelay="--nodelay" in flags).run()
