"""HungMongo: a MongoDB on 127.0.0.1 that completes the driver's handshake (OP_QUERY and OP_MSG ``hello``) and
then never answers a command — the hung primary a real pymongo client must not wait on forever."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from datetime import UTC, datetime
from typing import Any

import bson

_OP_REPLY, _OP_QUERY, _OP_MSG = 1, 2004, 2013
_HELLO = {"hello", "ismaster", "isMaster"}


def _hello() -> dict[str, Any]:
    return {
        "ok": 1.0,
        "isWritablePrimary": True,
        "ismaster": True,
        "helloOk": True,
        "maxWireVersion": 21,
        "minWireVersion": 0,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "localTime": datetime.now(UTC),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": 1,
    }


class HungMongo:
    """``uri`` names it (a direct connection); ``commands`` lists the commands received, answered or not."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.uri = f"mongodb://127.0.0.1:{self.port}/entry_service?directConnection=true"
        self.commands: list[str] = []
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections.append(connection)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while True:
                length, request_id, _, opcode = struct.unpack("<iiii", _read(connection, 16))
                body = _read(connection, length - 16)
                if opcode == _OP_QUERY:  # the first handshake: flags, collection name, skip, limit, query
                    name_end = body.index(b"\0", 4)
                    command = next(iter(bson.decode(body[name_end + 9 :])))
                    reply = struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(_hello())
                    opcode_out = _OP_REPLY
                elif opcode == _OP_MSG:  # flags, then a kind-0 section: the command document
                    size = struct.unpack("<i", body[5:9])[0]
                    command = next(iter(bson.decode(body[5 : 5 + size])))
                    reply = struct.pack("<I", 0) + b"\0" + bson.encode(_hello())
                    opcode_out = _OP_MSG
                else:
                    continue
                self.commands.append(command)
                if command in _HELLO:
                    connection.sendall(struct.pack("<iiii", 16 + len(reply), 0, request_id, opcode_out) + reply)
                # any other command: never answered


def _read(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data
