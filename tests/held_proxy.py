"""A TCP proxy to Azurite's queue endpoint that holds the first request matching a pattern.

It lets a test stop a real process at an exact point of a protocol (say, after a replay's
send and before its delete) without touching the code under test: the process waits for an
answer that never comes, and the test kills it there.
"""

from __future__ import annotations

import re
import socket
import threading
from types import TracebackType


class HeldProxy:
    def __init__(self, target_port: int, hold: re.Pattern[bytes]) -> None:
        self.target_port = target_port
        self.hold = hold
        self.holding = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, inspect: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if inspect and not self.holding.is_set() and self.hold.search(chunk):
                    self.holding.set()  # swallow this request and all after it on the socket
                    return
                sink.sendall(chunk)
        except OSError:
            return

    def close(self) -> None:
        self._closed.set()
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> HeldProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
