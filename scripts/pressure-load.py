#!/usr/bin/env python3
"""Load that holds a prefork pool: silent and trickling clients, and normal clients
whose wait is measured (the "Pressure" benchmark in scripts/bench.sh; the pressure
tests use it too).

  --silent N          N connections that send nothing and stay open
  --trickle N         N connections that each send one byte every --gap seconds
  --gap S             (default 5)
  --first-byte        trickling clients send their first byte at once (else after
                      one gap)
  --reconnect         a silent or trickling connection the server closes is opened
                      again (an attacker's loop); else it stays closed
  --normal-every S    a normal client every S seconds: connect, send a line,
                      half-close, read the echo to EOF; its wait is connect to EOF
  --duration S        stop after S seconds (default: at SIGTERM or SIGINT)

At the end prints one JSON object: opened and closed-by-server counts for each kind,
and the normal clients' count, failures and wait percentiles in seconds. For the
trickling ones, quiet_at_close_min: the shortest quiet (seconds since its last byte)
of any the server closed, when the close was seen (null: none closed).
"""

import argparse
import json
import selectors
import signal
import socket
import sys
import threading
import time


class Held:
    """Silent and trickling connections, served by one selector loop."""

    def __init__(self, args):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.counts = {"silent": [0, 0], "trickle": [0, 0]}  # opened, closed by server
        self.next_byte = {}
        self.last_byte = {}  # trickle: when its last byte went out
        # For each trickling connection the server closed: how long it had been
        # quiet when the close was seen. A server that cuts progress closes one
        # sooner than its idle floor; a client too busy to send in time is seen
        # here too, as a longer quiet than --gap.
        self.trickle_quiet = []

    def open(self, kind):
        try:
            s = socket.create_connection((self.args.host, self.args.port), timeout=10)
        except OSError:
            return False
        s.setblocking(False)
        self.counts[kind][0] += 1
        self.sel.register(s, selectors.EVENT_READ, kind)
        if kind == "trickle":
            first = 0 if self.args.first_byte else self.args.gap
            self.next_byte[s] = time.monotonic() + first
        return True

    def closed(self, s, kind):
        self.sel.unregister(s)
        self.next_byte.pop(s, None)
        last = self.last_byte.pop(s, None)
        if kind == "trickle" and last is not None:
            self.trickle_quiet.append(time.monotonic() - last)
        s.close()
        self.counts[kind][1] += 1
        if self.args.reconnect and not STOP.is_set():
            self.open(kind)

    def run(self):
        for _ in range(self.args.silent):
            self.open("silent")
        for _ in range(self.args.trickle):
            self.open("trickle")
        while not STOP.is_set():
            for key, _ in self.sel.select(timeout=0.05):
                s, kind = key.fileobj, key.data
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.closed(s, kind)
            now = time.monotonic()
            for s, due in list(self.next_byte.items()):
                if now < due:
                    continue
                try:
                    s.send(b"t")
                    self.last_byte[s] = time.monotonic()
                    self.next_byte[s] = now + self.args.gap
                except OSError:
                    self.closed(s, "trickle")
        self.sweep()

    def sweep(self):
        """At the stop: count the closes that arrived but were not read yet."""
        for key, _ in self.sel.select(timeout=0.2):
            try:
                if key.fileobj.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                    continue
            except BlockingIOError:
                continue
            except OSError:
                pass
            self.counts[key.data][1] += 1
            last = self.last_byte.get(key.fileobj)
            if key.data == "trickle" and last is not None:
                self.trickle_quiet.append(time.monotonic() - last)
        # Closed now, so the server sees an end from us rather than evicting later.
        for key in list(self.sel.get_map().values()):
            self.sel.unregister(key.fileobj)
            key.fileobj.close()


class Normal:
    """A normal client every --normal-every seconds, each in its own thread."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.waits = []
        self.failed = 0
        self.threads = []

    def one(self):
        t0 = time.monotonic()
        try:
            with socket.create_connection((self.args.host, self.args.port), timeout=60) as s:
                s.sendall(b"ping\n")
                s.shutdown(socket.SHUT_WR)
                got = b""
                while True:
                    d = s.recv(100)
                    if not d:
                        break
                    got += d
            ok = got == b"ping\n"
        except OSError:
            ok = False
        with self.lock:
            if ok:
                self.waits.append(time.monotonic() - t0)
            else:
                self.failed += 1

    def run(self):
        nxt = time.monotonic()
        while not STOP.is_set():
            t = threading.Thread(target=self.one, daemon=True)
            t.start()
            self.threads.append(t)
            nxt += self.args.normal_every
            STOP.wait(max(0.0, nxt - time.monotonic()))

    def summary(self):
        for t in self.threads:
            t.join(65)
        w = sorted(self.waits)

        def pct(q):
            if not w:
                return None
            return round(w[min(len(w) - 1, int(q * len(w)))], 4)

        return {"count": len(w) + self.failed, "failed": self.failed, "p50": pct(0.5),
                "p90": pct(0.9), "p99": pct(0.99), "max": round(w[-1], 4) if w else None}


STOP = threading.Event()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--silent", type=int, default=0)
    p.add_argument("--trickle", type=int, default=0)
    p.add_argument("--gap", type=float, default=5.0)
    p.add_argument("--first-byte", action="store_true")
    p.add_argument("--reconnect", action="store_true")
    p.add_argument("--normal-every", type=float, default=0)
    p.add_argument("--duration", type=float, default=0)
    args = p.parse_args()
    if args.silent < 0 or args.trickle < 0 or args.gap <= 0 or args.normal_every < 0:
        p.error("counts must be >= 0, --gap > 0")
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: STOP.set())
    held = Held(args)
    normal = Normal(args)
    threads = [threading.Thread(target=held.run, daemon=True)]
    if args.normal_every > 0:
        threads.append(threading.Thread(target=normal.run, daemon=True))
    for t in threads:
        t.start()
    deadline = time.monotonic() + args.duration if args.duration > 0 else None
    while not STOP.is_set():
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        STOP.wait(0.2 if left is None else min(0.2, left))
    STOP.set()
    for t in threads:
        t.join(5)
    out = {k: {"opened": v[0], "closed": v[1]} for k, v in held.counts.items()}
    quiet = held.trickle_quiet
    out["trickle"]["quiet_at_close_min"] = round(min(quiet), 4) if quiet else None
    out["normal"] = normal.summary() if args.normal_every > 0 else None
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
