#!/usr/bin/env python3
"""activate.py SPEC... -- COMMAND...: socket activation without systemd, for tests.

Each SPEC makes one socket: tcp:HOST:PORT (listening), udp:HOST:PORT,
unix:PATH (listening), file:PATH (a regular file, wrong on purpose),
tcp-nolisten:HOST:PORT (a bound stream socket that does not listen). A SPEC may
end in =NAME (LISTEN_FDNAMES). Options before the specs: --pid-other (LISTEN_PID
names another process), --nonblock (O_NONBLOCK on every socket, as another
holder may set it). The sockets become fds 3.., LISTEN_FDS/LISTEN_PID/
LISTEN_FDNAMES are set, and this process execs COMMAND (same pid). Each
socket's bound address is written, one per line, to $ACTIVATE_ADDRS if set."""
import fcntl
import os
import socket
import sys


def make(spec):
    kind, _, rest = spec.partition(":")
    if kind == "file":
        return os.open(rest, os.O_RDONLY), rest
    if kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(rest)
        s.listen(64)
        return s.detach(), "unix:" + rest
    host, _, port = rest.rpartition(":")
    fam = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    host = host.strip("[]")
    typ = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    s = socket.socket(fam, typ)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    if kind == "tcp":
        s.listen(64)
    h, p = s.getsockname()[:2]
    text = ("[%s]:%d" if fam == socket.AF_INET6 else "%s:%d") % (h, p)
    return s.detach(), ("udp:" if kind == "udp" else "") + text


def main(argv):
    other = "--pid-other" in argv
    nonblock = "--nonblock" in argv
    argv = [a for a in argv if a not in ("--pid-other", "--nonblock")]
    sep = argv.index("--")
    specs, cmd = argv[:sep], argv[sep + 1:]
    fds, names, addrs = [], [], []
    for spec in specs:
        body, _, name = spec.partition("=")
        fd, addr = make(body)
        fds.append(fd)
        names.append(name)
        addrs.append(addr)
    # Move them to 3.. without clobbering one another: first above the range.
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 100) for fd in fds]
    for fd in fds:
        os.close(fd)
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i, inheritable=True)
        os.close(fd)
        if nonblock:
            fl = fcntl.fcntl(3 + i, fcntl.F_GETFL)
            fcntl.fcntl(3 + i, fcntl.F_SETFL, fl | os.O_NONBLOCK)
    if os.environ.get("ACTIVATE_ADDRS"):
        with open(os.environ["ACTIVATE_ADDRS"], "w") as f:
            f.write("\n".join(addrs) + "\n")
    os.environ["LISTEN_FDS"] = str(len(fds))
    os.environ["LISTEN_PID"] = str(os.getpid() + (1 if other else 0))
    os.environ["LISTEN_FDNAMES"] = ":".join(n or "x%d" % i for i, n in enumerate(names))
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
