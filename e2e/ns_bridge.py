"""Forwards connections across network namespaces (sleepy_host.py). As a program, run inside a namespace:
`ns_bridge.py UNIX_PATH PORT` accepts on the Unix socket UNIX_PATH and connects each to 127.0.0.1:PORT there."""
import os
import socket
import sys
import threading


def _pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    try:
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def forward(listener, connect):
    """Accepts on `listener` for ever; each connection is joined to a new `connect()` both ways."""
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return  # closed
        try:
            upstream = connect()
        except OSError:
            client.close()
            continue
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()


if __name__ == "__main__":
    path, port = sys.argv[1], int(sys.argv[2])
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(16)
    os.rename(path + ".tmp", path)  # appears only once it accepts
    forward(listener, lambda: socket.create_connection(("127.0.0.1", port)))
