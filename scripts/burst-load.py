#!/usr/bin/env python3
"""A burst of keep-alive echo clients that need workers, and the pool size sampled
meanwhile (the "Burst" benchmark in scripts/bench.sh, section 7).

Each client connects, then makes --round-trips round trips of --size bytes with
--think seconds between them, closes, and connects again at once. A prefork
worker serves one connection at a time, so every client holds a worker for the
life of its connection, think time included: 64 clients need 64 workers.
The number of clients follows --phases, e.g. "1:1 64:5 1:15" (1 client for 1 s,
then 64 for 5 s, then 1 for 15 s; the default). When a phase lowers the count, the clients
beyond it close after their current round trip; one still waiting for its
first reply gives up, counted as "unserved".

  --port PORT         the echo server on --host (default 127.0.0.1)
  --admin PATH        the server's admin socket: its pool.* stats are sampled
                      every --sample-every seconds (default 0.1) in a thread
  --timeout S         a round trip (the first one counted from connect) that
                      takes longer is an error, and the client reconnects
                      (default 5)

Latency: "first" runs from the start of connect() to the end of the first echo
(the wait in the accept queue for a free worker is in it); "rt" is every later
round trip, from its send to the end of its echo; "req" is both together, what
a user of the service waits per request. Each sample belongs to the phase in
which it started. A request that timed out or was given up counts with the time
it had waited (a lower bound), so that the slowest are not left out. The client's own delay is measured as well: "lag" is how late
the think timers fire, which also bounds how late a reply is noticed.

Prints one JSON object with raw figures (microseconds, seconds from the start of
the first phase); scripts/benchstat.py burst-row turns it into the printed row.
Python 3 standard library only.
"""

import argparse
import errno
import heapq
import json
import random
import re
import selectors
import signal
import socket
import sys
import threading
import time

POOL_LINE = re.compile(rb"^pool\.([a-z_]+): ([0-9]+)$", re.M)


def admin_stats(path, timeout):
    """The pool.* fields of the server's `stats` reply, or None."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(b"stats\n")
            chunks = []
            while True:
                d = s.recv(65536)
                if not d:
                    break
                chunks.append(d)
    except OSError:
        return None
    reply = b"".join(chunks)
    if not reply.startswith(b"ok "):
        return None
    return {k.decode(): int(v) for k, v in POOL_LINE.findall(reply)}


class Sampler:
    """Samples the pool every --sample-every seconds, on a schedule of its own."""

    def __init__(self, args, t0):
        self.args = args
        self.t0 = t0
        self.samples = []
        self.failed = 0
        self.stop = threading.Event()

    def run(self):
        nxt = time.monotonic()
        while not self.stop.is_set():
            t = time.monotonic()
            pool = admin_stats(self.args.admin, 1.0)
            if pool is None:
                self.failed += 1
            else:
                self.samples.append([round(t - self.t0, 3), pool.get("running", 0),
                                     pool.get("idle", 0), pool.get("busy", 0)])
            nxt += self.args.sample_every
            self.stop.wait(max(0.0, nxt - time.monotonic()))


class Client:
    __slots__ = ("cid", "sock", "state", "sent_at", "conn_at", "got", "trips", "first",
                 "deadline", "phase")

    def __init__(self, cid):
        self.cid = cid
        self.sock = None
        self.state = "off"  # off, connecting, waiting, thinking
        self.got = 0
        self.trips = 0
        self.first = True
        self.deadline = None


class Burst:
    def __init__(self, args, phases):
        self.args = args
        self.phases = phases
        self.sel = selectors.DefaultSelector()
        self.payload = bytes((i * 7 + 13) & 0xFF for i in range(args.size))
        self.timers = []  # (due, seq, cid, kind)
        self.seq = 0
        self.wanted = 0
        self.phase = 0
        self.clients = []
        n = len(phases)
        self.first = [[] for _ in range(n)]
        self.rt = [[] for _ in range(n)]
        self.errors = [{"connect": 0, "timeout": 0, "reset": 0, "short": 0, "mismatch": 0,
                        "unserved": 0} for _ in range(n)]
        self.connections = [0] * n
        self.lag = []
        self.t0 = 0.0
        self.rng = random.Random(1)

    # ---- timers ----

    def at(self, due, c, kind):
        self.seq += 1
        heapq.heappush(self.timers, (due, self.seq, c.cid, kind))

    # ---- one client ----

    def connect(self, c):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sock, c.state, c.first, c.trips, c.got = s, "connecting", True, 0, 0
        c.conn_at = time.monotonic()
        c.phase = self.phase
        self.connections[self.phase] += 1
        rc = s.connect_ex((self.args.host, self.args.port))
        if rc not in (0, errno.EINPROGRESS):
            self.fail(c, "connect")
            return
        c.deadline = c.conn_at + self.args.timeout
        self.at(c.deadline, c, "deadline")
        self.sel.register(s, selectors.EVENT_WRITE, c)

    def close(self, c):
        if c.sock is not None:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
        c.sock, c.state, c.deadline = None, "off", None

    def fail(self, c, kind):
        self.errors[c.phase][kind] += 1
        self.censor(c, kind)
        self.close(c)
        if c.cid < self.wanted:
            # A refused connect is retried 10 ms later, not in a busy loop.
            self.at(time.monotonic() + (0.01 if kind == "connect" else 0), c, "connect")

    def censor(self, c, kind):
        """A request that timed out or was given up counts with the time it had
        waited, a lower bound: leaving it out would hide the slowest ones."""
        if kind not in ("timeout", "unserved") or c.state not in ("connecting", "waiting"):
            return
        now = time.monotonic()
        if c.first:
            self.first[c.phase].append(int((now - c.conn_at) * 1e6))
        else:
            self.rt[c.phase].append(int((now - c.sent_at) * 1e6))

    def send(self, c):
        c.sent_at = time.monotonic()
        c.got = 0
        c.phase = self.phase
        try:
            n = c.sock.send(self.payload)
        except OSError:
            self.fail(c, "reset")
            return
        if n != len(self.payload):  # a fresh socket takes a few bytes whole
            self.fail(c, "short")
            return
        c.state = "waiting"
        if not c.first:
            c.deadline = c.sent_at + self.args.timeout
            self.at(c.deadline, c, "deadline")
        self.sel.modify(c.sock, selectors.EVENT_READ, c)

    def writable(self, c):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.fail(c, "connect")
            return
        self.send(c)

    def readable(self, c):
        try:
            d = c.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self.fail(c, "reset")
            return
        if not d:
            self.fail(c, "short")
            return
        if d != self.payload[c.got:c.got + len(d)]:
            self.fail(c, "mismatch")
            return
        c.got += len(d)
        if c.got < len(self.payload):
            return
        now = time.monotonic()
        if c.first:
            self.first[c.phase].append(int((now - c.conn_at) * 1e6))
            c.first = False
        else:
            self.rt[c.phase].append(int((now - c.sent_at) * 1e6))
        c.trips += 1
        c.deadline = None
        if c.cid >= self.wanted:
            self.close(c)
        elif c.trips >= self.args.round_trips:
            self.close(c)
            self.connect(c)
        else:
            c.state = "thinking"
            # Think times spread over 0.5..1.5 x --think: clients in step would
            # all send at once and time the client's own queue, not the server.
            self.at(now + self.args.think * (0.5 + self.rng.random()), c, "think")

    def timer(self, due, c, kind, now):
        if kind == "connect":
            if c.state == "off" and c.cid < self.wanted:
                self.connect(c)
        elif kind == "think":
            if c.state != "thinking":
                return
            self.lag.append(int((now - due) * 1e6))
            if c.cid >= self.wanted:
                self.close(c)
            else:
                self.send(c)
        elif kind == "deadline":
            if c.deadline == due and c.state in ("connecting", "waiting"):
                self.fail(c, "timeout")

    def set_clients(self, n):
        self.wanted = n
        while len(self.clients) < n:
            self.clients.append(Client(len(self.clients)))
        for c in self.clients[:n]:
            if c.state == "off":
                self.connect(c)
        for c in self.clients[n:]:
            if c.state == "thinking":
                self.close(c)
            elif c.state == "connecting" or (c.state == "waiting" and c.first):
                self.errors[c.phase]["unserved"] += 1
                self.censor(c, "unserved")
                self.close(c)

    # ---- the loop ----

    def run(self, stop):
        self.t0 = time.monotonic()
        bounds = []
        t = self.t0
        for _, secs in self.phases:
            t += secs
            bounds.append(t)
        for i, (n, _) in enumerate(self.phases):
            self.phase = i
            self.set_clients(n)
            while not stop.is_set():
                now = time.monotonic()
                if now >= bounds[i]:
                    break
                wait = bounds[i] - now
                if self.timers:
                    wait = min(wait, max(0.0, self.timers[0][0] - now))
                for key, ev in self.sel.select(timeout=wait):
                    c = key.data
                    if c.sock is None or key.fileobj is not c.sock:
                        continue
                    if ev & selectors.EVENT_WRITE and c.state == "connecting":
                        self.writable(c)
                    elif ev & selectors.EVENT_READ and c.state == "waiting":
                        self.readable(c)
                    elif ev & selectors.EVENT_READ and c.state == "thinking":
                        # Nothing is due while thinking: EOF or a reset from the server.
                        self.fail(c, "reset")
                now = time.monotonic()
                while self.timers and self.timers[0][0] <= now:
                    due, _, cid, kind = heapq.heappop(self.timers)
                    self.timer(due, self.clients[cid], kind, now)
            if stop.is_set():
                break
        self.phase = len(self.phases) - 1
        self.set_clients(0)
        for c in self.clients:
            self.close(c)


def parse_phases(text):
    phases = []
    for word in text.replace(",", " ").split():
        m = re.fullmatch(r"([0-9]+):([0-9]+(?:[.][0-9]+)?)", word)
        if not m or float(m.group(2)) <= 0:
            raise ValueError("expected CLIENTS:SECONDS, got '%s'" % word)
        phases.append((int(m.group(1)), float(m.group(2))))
    if not phases:
        raise ValueError("no phase")
    return phases


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--admin", help="admin socket to sample")
    p.add_argument("--phases", default="1:1 64:5 1:15", help="CLIENTS:SECONDS ...")
    p.add_argument("--round-trips", type=int, default=20)
    p.add_argument("--think", type=float, default=0.05)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--sample-every", type=float, default=0.1)
    args = p.parse_args()
    try:
        phases = parse_phases(args.phases)
    except ValueError as e:
        p.error("--phases: %s" % e)
    if args.round_trips < 1 or args.think < 0 or not 1 <= args.size <= 65536 \
            or args.timeout <= 0 or args.sample_every <= 0:
        p.error("--round-trips >= 1, --think >= 0, --size 1..65536, --timeout and "
                "--sample-every > 0")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    burst = Burst(args, phases)
    sampler = None
    t0 = time.monotonic()
    if args.admin:
        sampler = Sampler(args, t0)
        th = threading.Thread(target=sampler.run, daemon=True)
        th.start()
    burst.run(stop)
    if sampler:
        sampler.stop.set()
        th.join(5)
    start = burst.t0 - t0
    out = {
        "phases": [{"clients": n, "seconds": s, "first_us": burst.first[i], "rt_us": burst.rt[i],
                    "errors": burst.errors[i], "connections": burst.connections[i]}
                   for i, (n, s) in enumerate(phases)],
        "lag_us": burst.lag,
        "samples": [[round(t - start, 3), r, i, b] for t, r, i, b in
                    (sampler.samples if sampler else [])],
        "sample_failures": sampler.failed if sampler else 0,
        "round_trips": args.round_trips, "think": args.think, "size": args.size,
    }
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
