"""A bad network for e2e tests, in a thread: a UDP relay between browsers and Parley's media ports that delays
each datagram by `delay` ± `jitter` seconds (uniformly, so close packets may swap, as netem's jitter does) and
drops a `loss` fraction of them, both directions. This machine's kernel has no netem; Parley announces the relay's
address, so every media packet passes through it. Settings change while it runs (`set`), e.g. for an outage."""
import heapq
import random
import select
import socket
import threading
import time


class NetemRelay(threading.Thread):
    def __init__(self, listen_ip, ports, server_ip="127.0.0.1", delay=0.0, jitter=0.0, loss=0.0, seed=5):
        super().__init__(daemon=True)
        self.server_ip = server_ip
        self.delay, self.jitter, self.loss = delay, jitter, loss
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.listeners = {}  # port -> socket facing the browsers
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.bind((listen_ip, port))
            self.listeners[port] = s
        self.upstream = {}  # (port, browser address) -> socket facing the server
        self.downstream = {}  # upstream socket -> (listener, browser address)
        self.queue, self.sequence = [], 0
        self.forwarded = {"up": 0, "down": 0}
        self.dropped = {"up": 0, "down": 0}

    def set(self, **settings):
        with self.lock:
            for key, value in settings.items():
                setattr(self, key, value)

    def close(self):
        self.stop_event.set()
        self.join(timeout=2)
        for s in list(self.listeners.values()) + list(self.downstream):
            s.close()

    def _schedule(self, direction, sock, data, address):
        with self.lock:
            loss, delay, jitter = self.loss, self.delay, self.jitter
        if self.rng.random() < loss:
            self.dropped[direction] += 1
            return
        due = time.monotonic() + max(0.0, delay + self.rng.uniform(-jitter, jitter))
        self.sequence += 1
        heapq.heappush(self.queue, (due, self.sequence, direction, sock, data, address))

    def run(self):
        while not self.stop_event.is_set():
            timeout = 0.05
            if self.queue:
                timeout = max(0.0, min(timeout, self.queue[0][0] - time.monotonic()))
            readable, _, _ = select.select(list(self.listeners.values()) + list(self.downstream), [], [], timeout)
            for s in readable:
                try:
                    data, address = s.recvfrom(65536)
                except OSError:
                    continue
                if s in self.downstream:  # from the server, back to the browser it belongs to
                    listener, browser = self.downstream[s]
                    self._schedule("down", listener, data, browser)
                    continue
                port = s.getsockname()[1]
                key = (port, address)
                if key not in self.upstream:
                    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.bind(("127.0.0.1", 0))
                    up.connect((self.server_ip, port))
                    self.upstream[key] = up
                    self.downstream[up] = (s, address)
                self._schedule("up", self.upstream[key], data, None)
            now = time.monotonic()
            while self.queue and self.queue[0][0] <= now:
                _, _, direction, sock, data, address = heapq.heappop(self.queue)
                try:
                    if address is None:
                        sock.send(data)
                    else:
                        sock.sendto(data, address)
                    self.forwarded[direction] += 1
                except OSError:
                    pass
