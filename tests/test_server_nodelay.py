"""The server's connections send each write at once (TCP_NODELAY): without it, a stream's first body write
after the headers waited for the client's delayed ACK (about 40 ms on Linux) on every kept-alive connection,
which moved a stream's first chunk onto its second one, and `dotmock record` wrote that as the cadence."""

from __future__ import annotations

import socket

from dotmock.server.running import bind_socket


def test_the_listening_socket_sets_nodelay_for_the_connections_it_accepts() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        client = socket.create_connection(sock.getsockname())
        sock.setblocking(True)
        accepted, _ = sock.accept()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0  # inherited
        accepted.close()
        client.close()
    finally:
        sock.close()
