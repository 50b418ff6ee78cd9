#!/usr/bin/env python3
"""HTTP/1.1 conformance table for preforkd's http service (test/http-conformance.bats).

Each row is a raw request written from RFC 9110/9112 (it names its section) and the
answer the RFC asks for. Every response is parsed as a client by h11 (an independent,
strict HTTP/1.1 implementation: framing, status line, field syntax) and, when node is
there, by Node's llhttp (llhttp_check.js beside this file), then checked for
the fields the RFCs require: Date, one Content-Length that frames the body, no body
on HEAD or 304, Allow on 405, Content-Range on 206 and 416, validators on 200/206/304,
and a close when the server says Connection: close.

Usage:
  http_conformance.py make-root DIR       write the files the table asks for
  http_conformance.py run PORT [GROUP...]  run the rows (default: every group)
  http_conformance.py list                the groups and their rows
  http_conformance.py selftest            prove the checks catch broken responses
Prints one "ok"/"not ok" line per row; exit status 1 when a row failed. A row marked
as a known deviation passes with the RFC's answer or with today's, and says which.
"""
import base64
import email.utils
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import h11

DIGITS = b"0123456789abcdefghij"
FILES = {"index.html": b"<p>root</p>\n", "digits.txt": DIGITS, "b.txt": b"bee\n", "empty.txt": b"", "dir/index.html": b"<p>d</p>\n"}
IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d GMT$"
)


class Row:
    """One request (raw bytes, {placeholders} filled from a first GET) and what must
    come back: per response (method, status, body or None), and whether the
    connection is closed after the last one. known: (status, why) of a deviation."""

    def __init__(self, group, section, name, request, answers, closed=None, known=None,
                 compare_get=False):
        self.group, self.section, self.name = group, section, name
        self.request, self.answers, self.closed, self.known = request, answers, closed, known
        self.compare_get = compare_get  # a HEAD: its fields must be GET's (but Date)


def req(line, *fields, body=""):
    return line + "\r\n" + "".join(f + "\r\n" for f in fields) + "\r\n" + body


def get(target="/digits.txt", *fields, version="1.1", method="GET"):
    host = ("Host: x",) if version == "1.1" else ()
    return req(f"{method} {target} HTTP/{version}", *host, *fields)


OK = [("GET", 200, DIGITS)]


def bad(status=400, method="GET"):
    return [(method, status, None)]


ROWS = [
    # ---- methods (RFC 9110 9) ----
    Row("methods", "9110 9.3.1", "GET serves the file", get(), OK, False),
    Row("methods", "9110 9.3.2", "HEAD: GET's fields, no content", get(method="HEAD"),
        [("HEAD", 200, b"")], False),
    *[Row("methods", "9110 15.5.6", f"{m} (registered, not served): 405 with Allow",
          get(method=m), [("GET", 405, None)], False)
      for m in ("POST", "PUT", "DELETE", "OPTIONS", "TRACE")],
    Row("methods", "9110 9.1", "method names are case-sensitive: get is unknown, 501",
        get(method="get"), [("GET", 501, None)], False),
    Row("methods", "9110 15.6.2", "an unknown token (PATCH, BREW): 501",
        get(method="BREW"), [("GET", 501, None)], False),
    Row("methods", "9112 3", "a method that is not a token: 400", get(method="G(T"), bad(), True),
    Row("methods", "9110 9.3.2", "HEAD of a missing file: 404 fields, no content",
        get("/nope", method="HEAD"), [("HEAD", 404, b"")], False),
    # ---- request-target forms (RFC 9112 3.2) ----
    Row("target", "9112 3.2.1", "origin-form with a query", get("/digits.txt?a=1"), OK, False),
    Row("target", "9112 3.2.2", "absolute-form: the authority is not a path",
        get("http://other.example/digits.txt"), OK, False),
    Row("target", "9112 3.2.2", "absolute-form, scheme case-insensitive",
        get("HTTP://x/digits.txt"), OK, False),
    Row("target", "9112 3.2.2", "absolute-form without a path is /",
        get("http://x"), [("GET", 200, None)], False),
    Row("target", "9112 3.2.4", "asterisk-form with GET: 400", get("*"), bad(), True),
    Row("target", "9112 3.2.4", "OPTIONS * (not served): 405 with Allow",
        get("*", method="OPTIONS"), [("GET", 405, None)], False),
    Row("target", "9112 3.2.3", "authority-form with GET: 400", get("x:80"), bad(), True),
    Row("target", "9112 3.2.3", "CONNECT authority-form (not served): 405",
        get("x:443", method="CONNECT"), [("GET", 405, None)], False),
    Row("target", "9112 3.2", "a target without a slash: 400", get("digits.txt"), bad(), True),
    Row("target", "9112 3.2.2", "absolute-form with an empty authority: 400",
        get("http:///digits.txt"), bad(), True),
    # ---- Host (RFC 9112 3.2, RFC 9110 7.2) ----
    Row("host", "9112 3.2", "HTTP/1.1 without Host: 400",
        req("GET /digits.txt HTTP/1.1"), bad(), True),
    Row("host", "9112 3.2", "two Host fields: 400",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Host: x"), bad(), True),
    Row("host", "9112 3.2", "a Host that is not uri-host[:port] (a blank): 400",
        req("GET /digits.txt HTTP/1.1", "Host: a b"), bad(), True),
    Row("host", "9112 3.2", "a Host with a slash: 400",
        req("GET /digits.txt HTTP/1.1", "Host: a/b"), bad(), True),
    Row("host", "9112 3.2", "a Host with a port that is not digits: 400",
        req("GET /digits.txt HTTP/1.1", "Host: a:8o"), bad(), True),
    Row("host", "9112 3.2", "an empty Host is valid (no authority in the URI)",
        req("GET /digits.txt HTTP/1.1", "Host:"), OK, False),
    Row("host", "9112 3.2", "Host as an IP literal with a port",
        req("GET /digits.txt HTTP/1.1", "Host: [::1]:8080"), OK, False),
    Row("host", "9112 3.2", "absolute-form still needs Host in HTTP/1.1",
        req("GET http://x/digits.txt HTTP/1.1"), bad(), True),
    Row("host", "9112 3.2", "HTTP/1.0 without Host is served",
        get(version="1.0"), OK, True),
    # ---- versions (RFC 9112 2.3, RFC 9110 2.5, 15.6.6) ----
    Row("version", "9110 2.5", "HTTP/1.0: answered as HTTP/1.1, closed", get(version="1.0"), OK, True),
    Row("version", "9110 2.5", "HTTP/1.2: a later minor is served as 1.1",
        req("GET /digits.txt HTTP/1.2", "Host: x"), OK, False),
    Row("version", "9110 15.6.6", "HTTP/2.0 on an HTTP/1 connection: 505",
        req("GET /digits.txt HTTP/2.0", "Host: x"), bad(505), True),
    Row("version", "9110 15.6.6", "HTTP/3.0: 505", req("GET /digits.txt HTTP/3.0", "Host: x"),
        bad(505), True),
    Row("version", "9110 15.6.6", "HTTP/0.9 as a version: 505",
        req("GET /digits.txt HTTP/0.9", "Host: x"), bad(505), True),
    Row("version", "9112 2.3", "a 0.9 simple request (no version): 400",
        "GET /digits.txt\r\n\r\n", bad(), True),
    Row("version", "9112 2.3", "the version is case-sensitive: http/1.1 is 400",
        req("GET /digits.txt http/1.1", "Host: x"), bad(), True),
    Row("version", "9112 2.3", "two digits in a version: 400",
        req("GET /digits.txt HTTP/1.10", "Host: x"), bad(), True),
    Row("version", "9112 2.3", "garbage for a version: 400",
        req("GET /digits.txt FOO/1.1", "Host: x"), bad(), True),
    # ---- field and line syntax (RFC 9112 2.2, 5) ----
    Row("syntax", "9112 5.1", "whitespace before the colon: 400",
        req("GET /digits.txt HTTP/1.1", "Host : x"), bad(), True),
    Row("syntax", "9112 5.2", "obs-fold: 400 (the RFC allows 400 or a blank)",
        req("GET /digits.txt HTTP/1.1", "Host: x", "X-A: 1", " 2"), bad(), True),
    Row("syntax", "9112 2.2", "whitespace before the first field: 400",
        req("GET /digits.txt HTTP/1.1", " X-A: 1", "Host: x"), bad(), True),
    Row("syntax", "9110 5.1", "an empty field name: 400",
        req("GET /digits.txt HTTP/1.1", "Host: x", ": v"), bad(), True),
    Row("syntax", "9110 5.5", "NUL in a field value: 400",
        req("GET /digits.txt HTTP/1.1", "Host: x", "X-A: a\0b"), bad(), True),
    Row("syntax", "9112 2.2", "a bare CR: 400",
        req("GET /digits.txt HTTP/1.1", "Host: x", "X-A: a\rb"), bad(), True),
    Row("syntax", "9112 2.2", "bare LF line ends (MAY accept; refused here): 400",
        "GET /digits.txt HTTP/1.1\nHost: x\n\n", bad(), True),
    Row("syntax", "9112 3", "two blanks in the request line: 400",
        req("GET  /digits.txt HTTP/1.1", "Host: x"), bad(), True),
    Row("syntax", "9112 2.2", "empty lines before the request line are ignored",
        "\r\n\r\n" + get(), OK, False),
    Row("syntax", "9110 5.5", "OWS around a field value is not part of it",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Range: \t bytes=0-1 \t"),
        [("GET", 206, b"01")], False),
    Row("syntax", "9110 5.1", "field names are case-insensitive",
        req("GET /digits.txt HTTP/1.1", "hOsT: x", "rAnGe: bytes=0-1"),
        [("GET", 206, b"01")], False),
    Row("syntax", "9110 5.5", "obs-text in a value is accepted, not interpreted",
        req("GET /digits.txt HTTP/1.1", "Host: x", "X-A: caf\xe9"), OK, False),
    Row("syntax", "9112 2.2", "HEAD with a bad field: 400, and no content after it",
        req("HEAD /digits.txt HTTP/1.1", "Host : x"), bad(400, "HEAD"), True),
    # ---- message body length (RFC 9112 6) ----
    Row("length", "9112 6.3", "a Content-Length body is read, the next request served",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Content-Length: 5", body="hello") + get("/b.txt"),
        [("GET", 200, DIGITS), ("GET", 200, b"bee\n")], False),
    Row("length", "9112 6.3", "Content-Length not digits: 400",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Content-Length: 0x5"), bad(), True),
    Row("length", "9112 6.3", "a negative Content-Length: 400",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Content-Length: -1"), bad(), True),
    Row("length", "9112 6.3", "Content-Length as a list (MAY accept equal ones): 400",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Content-Length: 1, 1", body="a"), bad(), True),
    Row("length", "9112 6.3", "two different Content-Lengths: 400",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Content-Length: 1", "Content-Length: 2",
            body="ab"), bad(), True),
    Row("length", "9112 6.1", "Transfer-Encoding with Content-Length: 400, closed",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Content-Length: 3",
            "Transfer-Encoding: chunked", body="0\r\n\r\n"), bad(), True),
    Row("length", "9112 6.1", "Transfer-Encoding in HTTP/1.0: 400",
        req("GET /digits.txt HTTP/1.0", "Transfer-Encoding: chunked", body="0\r\n\r\n"), bad(), True),
    Row("length", "9112 6.3", "a final coding that is not chunked: 400, closed",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Transfer-Encoding: gzip"), bad(), True),
    Row("length", "9112 7", "chunked applied twice: 400, closed",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked, chunked",
            body="0\r\n\r\n"), bad(), True),
    Row("length", "9112 6.1", "a coding not understood before chunked: 501, closed",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Transfer-Encoding: gzip, chunked",
            body="0\r\n\r\n"), bad(501), True),
    Row("length", "9110 10.1.1", "Expect: 100-continue, body not sent: answered at once",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Expect: 100-continue",
            "Content-Length: 5"), OK, True),
    Row("length", "9112 7.1", "a chunked body is read and dropped, the file served",
        req("GET /digits.txt HTTP/1.1", "Host: x", "Transfer-Encoding: chunked",
            body="3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n"), OK, False),
    # ---- conditional requests (RFC 9110 13) ----
    Row("conditional", "9110 13.1.2", "If-None-Match with the ETag: 304",
        get("/digits.txt", "If-None-Match: {etag}"), [("GET", 304, b"")], False),
    Row("conditional", "9110 13.1.2", "If-None-Match compares weakly: W/ETag is 304",
        get("/digits.txt", "If-None-Match: W/{etag}"), [("GET", 304, b"")], False),
    Row("conditional", "9110 13.1.2", "If-None-Match list containing the ETag: 304",
        get("/digits.txt", 'If-None-Match: "a", {etag} ,"b"'), [("GET", 304, b"")], False),
    Row("conditional", "9110 13.1.2", "If-None-Match: * on an existing file: 304",
        get("/digits.txt", "If-None-Match: *"), [("GET", 304, b"")], False),
    Row("conditional", "9110 13.1.2", "If-None-Match with another tag: 200",
        get("/digits.txt", 'If-None-Match: "nope"'), OK, False),
    Row("conditional", "9110 13.1.2", "HEAD with a matching If-None-Match: 304",
        get("/digits.txt", "If-None-Match: {etag}", method="HEAD"), [("HEAD", 304, b"")], False),
    Row("conditional", "9110 13.1.3", "If-Modified-Since = Last-Modified: 304",
        get("/digits.txt", "If-Modified-Since: {lastmod}"), [("GET", 304, b"")], False),
    Row("conditional", "9110 13.1.3", "If-Modified-Since before Last-Modified: 200",
        get("/digits.txt", "If-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT"), OK, False),
    Row("conditional", "9110 5.6.7", "If-Modified-Since in rfc850-date form: 304",
        get("/digits.txt", "If-Modified-Since: {lastmod850}"), [("GET", 304, b"")], False),
    Row("conditional", "9110 5.6.7", "If-Modified-Since in asctime-date form: 304",
        get("/digits.txt", "If-Modified-Since: {lastmodasc}"), [("GET", 304, b"")], False),
    Row("conditional", "9110 13.1.3", "an invalid If-Modified-Since is ignored: 200",
        get("/digits.txt", "If-Modified-Since: yesterday"), OK, False),
    Row("conditional", "9110 13.2.2", "If-None-Match wins over If-Modified-Since: 200",
        get("/digits.txt", 'If-None-Match: "nope"', "If-Modified-Since: {lastmod}"), OK, False),
    # ---- ranges (RFC 9110 14) ----
    Row("range", "9110 14.1.2", "bytes=0-4: 206, Content-Range bytes 0-4/20",
        get("/digits.txt", "Range: bytes=0-4"), [("GET", 206, b"01234")], False),
    Row("range", "9110 14.1.2", "a suffix range bytes=-5",
        get("/digits.txt", "Range: bytes=-5"), [("GET", 206, b"fghij")], False),
    Row("range", "9110 14.1.2", "an open range bytes=15-",
        get("/digits.txt", "Range: bytes=15-"), [("GET", 206, b"fghij")], False),
    Row("range", "9110 14.1.2", "a last-pos past the end is cut to the end",
        get("/digits.txt", "Range: bytes=18-100"), [("GET", 206, b"ij")], False),
    Row("range", "9110 14.1.2", "a suffix longer than the file is the whole file",
        get("/digits.txt", "Range: bytes=-100"), [("GET", 206, DIGITS)], False),
    Row("range", "9110 15.5.17", "a first-pos at the end: 416 with bytes */20",
        get("/digits.txt", "Range: bytes=20-"), [("GET", 416, None)], False),
    Row("range", "9110 14.1.3", "bytes=-0 is unsatisfiable: 416",
        get("/digits.txt", "Range: bytes=-0"), [("GET", 416, None)], False),
    Row("range", "9110 15.5.17", "any range of an empty file: 416 with bytes */0",
        get("/empty.txt", "Range: bytes=0-"), [("GET", 416, None)], False),
    Row("range", "9110 14.2", "several ranges may be answered with the whole file",
        get("/digits.txt", "Range: bytes=0-1,5-6"), OK, False),
    Row("range", "9110 14.2", "an unknown range unit is ignored: 200",
        get("/digits.txt", "Range: items=0-1"), OK, False),
    Row("range", "9110 14.1.1", "an invalid range (last < first) is ignored: 200",
        get("/digits.txt", "Range: bytes=5-3"), OK, False),
    Row("range", "9110 14.2", "HEAD ignores Range: 200",
        get("/digits.txt", "Range: bytes=0-4", method="HEAD"), [("HEAD", 200, b"")], False),
    Row("range", "9110 13.1.5", "If-Range with the ETag: 206",
        get("/digits.txt", "Range: bytes=0-1", "If-Range: {etag}"), [("GET", 206, b"01")], False),
    Row("range", "9110 13.1.5", "If-Range with the Last-Modified date: 206",
        get("/digits.txt", "Range: bytes=0-1", "If-Range: {lastmod}"), [("GET", 206, b"01")], False),
    Row("range", "9110 13.1.5", "If-Range with another tag: the whole file",
        get("/digits.txt", "Range: bytes=0-1", 'If-Range: "nope"'), OK, False),
    Row("range", "9110 8.8.3.2", "If-Range compares strongly: W/ETag is the whole file",
        get("/digits.txt", "Range: bytes=0-1", "If-Range: W/{etag}"), OK, False),
    Row("range", "9110 8.8.3.2", "If-Range compares octets: the ETag upper-cased differs",
        get("/digits.txt", "Range: bytes=0-1", "If-Range: {etagupper}"), OK, False),
    # ---- HEAD and GET alike (RFC 9110 9.3.2) ----
    *[Row("head", "9110 9.3.2", f"HEAD {t}: GET's fields, no content",
          get(t, method="HEAD"), [("HEAD", s, b"")], False, compare_get=True)
      for t, s in (("/digits.txt", 200), ("/dir/", 200), ("/dir", 301), ("/nope", 404),
                   ("/empty.txt", 200))],
    # ---- connections (RFC 9112 9) ----
    Row("connection", "9112 9.3", "HTTP/1.1 persists by default", get(), OK, False),
    Row("connection", "9112 9.6", "Connection: close is answered, then closed",
        get("/digits.txt", "Connection: close"), OK, True),
    Row("connection", "9110 7.6.1", "Connection options are case-insensitive lists",
        get("/digits.txt", "Connection: foo, CLOSE"), OK, True),
    Row("connection", "9112 9.3", "HTTP/1.0 closes by default", get(version="1.0"), OK, True),
    Row("connection", "9112 C.2.2", "HTTP/1.0 with keep-alive stays open, and is told so",
        get("/digits.txt", "Connection: keep-alive", version="1.0"), OK, False),
    Row("connection", "9112 9.6", "a refused request closes the connection",
        req("GET /digits.txt HTTP/1.1", "Host : x") + get(), bad(), True),
    # ---- pipelining (RFC 9112 9.3.2) ----
    Row("pipeline", "9112 9.3.2", "three requests in one write, answered in order",
        get() + get("/nope") + get("/b.txt"),
        [("GET", 200, DIGITS), ("GET", 404, None), ("GET", 200, b"bee\n")], False),
    Row("pipeline", "9112 9.3.2", "GET, HEAD, GET: the HEAD answer has no content",
        get() + get(method="HEAD") + get("/b.txt"),
        [("GET", 200, DIGITS), ("HEAD", 200, b""), ("GET", 200, b"bee\n")], False),
    Row("pipeline", "9112 9.3.2", "a 304 in the middle frames like a HEAD",
        get("/digits.txt", "If-None-Match: {etag}") + get("/b.txt"),
        [("GET", 304, b""), ("GET", 200, b"bee\n")], False),
    Row("pipeline", "9112 9.6", "Connection: close on the second: two answers, closed",
        get() + get("/b.txt", "Connection: close") + get(),
        [("GET", 200, DIGITS), ("GET", 200, b"bee\n")], True),
    Row("pipeline", "9112 9.3.2", "a bad request in the middle: 400 after the first, closed",
        get() + req("GET /b.txt HTTP/1.1", "Host : x") + get(),
        [("GET", 200, DIGITS), ("GET", 400, None)], True),
]


# ---- talking to the server ----


def recv_some(sock, timeout):
    """Bytes, b"" at EOF, None on timeout; "reset" on a reset."""
    sock.settimeout(timeout)
    try:
        return sock.recv(65536)
    except socket.timeout:
        return None
    except ConnectionResetError:
        return "reset"


def exchange(sock, answers, http_version, linger=1.0):
    """Reads one response per expected answer with h11 as the client: returns
    [(method, h11.Response or None, body)], closed (True/False/"reset"), problems."""
    conn = h11.Connection(h11.CLIENT)
    got, problems, closed, raw = [], [], False, bytearray()
    for method, _, _ in answers:
        # h11 learns what was asked (the request's bytes are ours, already sent).
        conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        conn.send(h11.EndOfMessage())
        resp, body = None, b""
        try:
            while True:
                ev = conn.next_event()
                if ev is h11.NEED_DATA:
                    data = recv_some(sock, 10)
                    if data is None:
                        problems.append("no complete response within 10 s")
                        return got, False, problems
                    if data == "reset":
                        problems.append("connection reset before a complete response")
                        return got, "reset", problems
                    conn.receive_data(data)
                    raw += data
                elif isinstance(ev, h11.InformationalResponse):
                    problems.append(f"unexpected 1xx {ev.status_code}")
                elif isinstance(ev, h11.Response):
                    resp = ev
                elif isinstance(ev, h11.Data):
                    body += ev.data
                elif isinstance(ev, h11.EndOfMessage):
                    break
                elif isinstance(ev, h11.ConnectionClosed):
                    if resp is None:
                        problems.append(f"closed with no response (wanted {len(answers)})")
                    return got, True, problems
        except h11.RemoteProtocolError as e:
            problems.append(f"h11 rejects the response: {e}")
            return got, None, problems
        got.append((method, resp, body))
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            break
    # Anything after the last expected response, and whether the server closed.
    extra, eof = conn.trailing_data
    deadline = time.monotonic() + linger
    while not eof:
        data = recv_some(sock, max(0.0, deadline - time.monotonic()))
        if data is None:
            break
        if data == "reset":
            closed = "reset"
            break
        if data == b"":
            eof = True
        extra += data
    if eof:
        closed = True
    if extra:
        problems.append(f"{len(extra)} bytes after the last response: {bytes(extra[:40])!r}")
    return got, closed, problems + check_each(raw, got)


def check_each(raw, got):
    """Each response's own bytes: CRLF line ends (h11 accepts a bare LF; RFC 9112 2.2
    has a sender use CRLF), and llhttp's reading of them, which must be h11's."""
    pos, problems = 0, []
    for method, resp, body in got:
        end = raw.find(b"\r\n\r\n", pos)
        if end < 0:
            return problems + ["a response head not ended by CRLF CRLF (9112 2.2)"]
        if re.search(rb"(?<!\r)\n|\r(?!\n)", raw[pos : end + 2]):
            problems.append("a bare LF or CR in a response head (9112 2.2)")
        problems += llhttp_check(method, bytes(raw[pos : end + 4 + len(body)]), resp, body)
        pos = end + 4 + len(body)
    return problems


LLHTTP = None  # test/tools/llhttp_check.js under node, when node is there


def start_llhttp():
    global LLHTTP
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        print("# second parser: none (node not found), h11 only")
        return
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "llhttp_check.js")
    LLHTTP = subprocess.Popen([node, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    version = subprocess.run([node, "-p", "process.versions.llhttp"], capture_output=True, text=True)
    print(f"# second parser: llhttp {version.stdout.strip()} (node {node}), strict")


def llhttp_check(method, data, resp, body):
    """Node's HTTP client reads the same bytes: [] when it agrees with h11."""
    if LLHTTP is None:
        return []
    LLHTTP.stdin.write(json.dumps({"method": method, "data": base64.b64encode(data).decode()}) + "\n")
    LLHTTP.stdin.flush()
    line = LLHTTP.stdout.readline()
    if not line:
        return ["the llhttp checker (node) stopped"]
    v = json.loads(line)
    if "error" in v:
        return [f"llhttp rejects the response: {v['error']}: {v['reason']}"]
    if resp is not None and (v["status"] != resp.status_code or v["body"] != len(body)):
        return [f"llhttp reads {v['status']} with {v['body']} bytes, h11 {resp.status_code} with {len(body)}"]
    return []


def field(resp, name):
    return [v.decode("latin-1") for k, v in resp.headers if k == name.encode()]


def check_response(method, resp, body, version, closed, validators):
    """What the RFCs ask of every response, whatever the row."""
    p = []
    st = resp.status_code
    if resp.http_version != b"1.1":
        p.append(f"status line version HTTP/{resp.http_version.decode()}, not 1.1 (9110 2.5)")
    date = field(resp, "date")
    if len(date) != 1 or not IMF_FIXDATE.match(date[0]):
        p.append(f"Date must be one IMF-fixdate (9110 6.6.1): {date}")
    if field(resp, "transfer-encoding"):
        p.append("Transfer-Encoding in a response (this server frames by length)")
    cl = field(resp, "content-length")
    if st != 304 and len(cl) != 1:
        p.append(f"one Content-Length expected: {cl}")
    if (method == "HEAD" or st == 304) and body:
        p.append(f"content in a {method} {st} response (9110 9.3.2, 15.4.5)")
    if method != "HEAD" and st != 304 and cl and int(cl[0]) != len(body):
        p.append(f"Content-Length {cl[0]} but {len(body)} bytes")
    if st == 405:
        allow = ",".join(field(resp, "allow")).replace(" ", "").split(",")
        if "GET" not in allow or "HEAD" not in allow:
            p.append(f"405 without Allow: GET, HEAD (9110 15.5.6): {allow}")
    if st == 416 and not any(re.fullmatch(r"bytes \*/\d+", v) for v in field(resp, "content-range")):
        p.append(f"416 without Content-Range: bytes */LEN (9110 15.5.17): {field(resp, 'content-range')}")
    if st == 206:
        cr = field(resp, "content-range")
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", cr[0]) if len(cr) == 1 else None
        n = int(cl[0]) if cl else -1
        if not m or int(m[2]) - int(m[1]) + 1 != n or int(m[2]) >= int(m[3]):
            p.append(f"206 Content-Range {cr} does not frame {n} bytes (9110 14.4)")
    # 304 and 206 rows all ask for /digits.txt; a 200 for a file has some ETag.
    if st in (206, 304) and validators and field(resp, "etag") != [validators["etag"]]:
        p.append(f"{st} without the file's ETag (9110 15.4.5, 15.3.7): {field(resp, 'etag')}")
    if st == 200 and validators and len(field(resp, "etag")) != 1:
        p.append(f"200 without one ETag: {field(resp, 'etag')}")
    if st == 301 and not field(resp, "location"):
        p.append("301 without Location (9110 15.4.2)")
    conn = ",".join(field(resp, "connection")).lower().replace(" ", "").split(",")
    if "close" in conn and closed is False:
        p.append("Connection: close, but the connection stayed open")
    if closed is False and version == "1.0" and "keep-alive" not in conn:
        p.append("HTTP/1.0 connection kept without Connection: keep-alive (9112 C.2.2)")
    return p


def request_version(raw):
    m = re.match(r"(?:\r\n)*\S+ \S+ HTTP/(\d\.\d)\r\n", raw)
    return "1.0" if m and m[1] == "1.0" else "1.1"


def run_row(port, row, fill, validators):
    raw = row.request.format(**fill).encode("latin-1")
    version = request_version(row.request)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        # A close is waited for (it comes at once); an open connection is assumed
        # after a short quiet time.
        linger = 5.0 if row.closed or row.known else 0.3
        got, closed, problems = exchange(sock, row.answers, version, linger)
    statuses = [r.status_code for _, r, _ in got if r is not None]
    wanted = [s for _, s, _ in row.answers]
    note = ""
    if row.known and statuses == [row.known[0]] and wanted != statuses:
        note = f" # known deviation: {row.known[1]}"
        # The deviation's own answer is still checked, as a refusal.
        wanted, closed_wanted = statuses, True
        answers = [(m, row.known[0], None) for m, _, _ in row.answers]
    else:
        closed_wanted, answers = row.closed, row.answers
    if statuses != wanted:
        problems.append(f"statuses {statuses}, RFC answer {wanted}")
    for (method, want_status, want_body), (_, resp, body) in zip(answers, got):
        if resp is None:
            continue
        if want_body is not None and body != want_body and resp.status_code == want_status:
            problems.append(f"{method} {want_status}: content {body[:40]!r}, wanted {want_body[:40]!r}")
        problems += check_response(method, resp, body, version, closed, validators)
    if row.compare_get and got and got[0][1] is not None:
        problems += compare_with_get(port, raw, got[0][1])
    if closed_wanted is not None and closed != closed_wanted:
        problems.append(f"connection {'closed' if closed is True else closed or 'open'}, "
                        f"wanted {'closed' if closed_wanted else 'open'}")
    return problems, note


def compare_with_get(port, head_raw, head_resp):
    """RFC 9110 9.3.2: the server SHOULD send the fields it would send to GET."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET" + head_raw[len(b"HEAD"):])
        got, _, problems = exchange(sock, [("GET", None, None)], "1.1", 0.3)
    if problems or not got:
        return [f"the GET to compare with failed: {problems}"]

    def fields(resp):
        return sorted((k, v) for k, v in resp.headers if k != b"date")

    if fields(got[0][1]) != fields(head_resp):
        return [f"HEAD fields {fields(head_resp)} differ from GET's {fields(got[0][1])}"]
    return []


def learn_validators(port):
    """The ETag and Last-Modified of /digits.txt, for the conditional rows."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(get("/digits.txt", "Connection: close").encode())
        got, _, problems = exchange(sock, OK, "1.1")
    if problems or not got or got[0][1].status_code != 200:
        sys.exit(f"GET /digits.txt failed: {problems}")
    resp = got[0][1]
    etag, lastmod = field(resp, "etag")[0], field(resp, "last-modified")[0]
    when = email.utils.parsedate_to_datetime(lastmod)
    fill = {
        "etag": etag,
        "etagupper": etag.upper() if etag.upper() != etag else etag.lower(),
        "lastmod": lastmod,
        "lastmod850": when.strftime("%A, %d-%b-%y %H:%M:%S GMT"),
        "lastmodasc": when.strftime("%a %b ") + f"{when.day:2d}" + when.strftime(" %H:%M:%S %Y"),
    }
    return fill, {"etag": etag}


def groups():
    seen = []
    for r in ROWS:
        if r.group not in seen:
            seen.append(r.group)
    return seen


def cmd_run(port, wanted):
    unknown = [g for g in wanted if g not in groups()]
    if unknown:
        sys.exit(f"unknown group {unknown[0]} (groups: {' '.join(groups())})")
    fill, validators = learn_validators(port)
    failed = n = 0
    for row in ROWS:
        if wanted and row.group not in wanted:
            continue
        n += 1
        problems, note = run_row(port, row, fill, validators)
        label = f"{row.group}: RFC {row.section}: {row.name}"
        print(f"{'not ok' if problems else 'ok'} {n} - {label}{note}")
        for pr in problems:
            print(f"#   {pr}")
        failed += bool(problems)
    print(f"# {n - failed} rows conform, {failed} do not")
    return 1 if failed else 0


# ---- the checker checked: broken responses it must refuse ----

GOOD = "HTTP/1.1 200 OK\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\nContent-Length: 3\r\n"
BROKEN = [
    ("no Date", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", True),
    ("a Date that is not IMF-fixdate", "GET",
     "HTTP/1.1 200 OK\r\nDate: Tuesday, 01-Dec-26 10:00:00 GMT\r\nContent-Length: 3\r\n\r\nabc", True),
    ("Content-Length longer than the content", "GET", GOOD.replace("3", "5") + "\r\nabc", True),
    ("content after a HEAD response", "HEAD", GOOD + "\r\nabc", True),
    ("content in a 304", "GET", GOOD.replace("200 OK", "304 Not Modified") + "\r\nabc", True),
    ("a blank before a colon", "GET", GOOD + "X-A : 1\r\n\r\nabc", True),
    ("405 without Allow", "GET", GOOD.replace("200 OK", "405 Method Not Allowed") + "\r\nabc", True),
    ("416 without Content-Range", "GET", GOOD.replace("200 OK", "416 Range Not Satisfiable") + "\r\nabc", True),
    ("206 whose Content-Range does not match", "GET",
     GOOD.replace("200 OK", "206 Partial Content") + "Content-Range: bytes 0-9/20\r\n\r\nabc", True),
    ("Connection: close, left open", "GET", GOOD + "Connection: close\r\n\r\nabc", False),
    ("an HTTP/1.0 status line", "GET", GOOD.replace("HTTP/1.1", "HTTP/1.0") + "\r\nabc", True),
    ("a bare LF in the head", "GET", GOOD.replace("\r\nContent", "\nX-A: 1\r\nContent") + "\r\nabc", True),
]


def cmd_selftest():
    failed = 0
    for i, (name, method, text, close) in enumerate(BROKEN, 1):
        a, b = socket.socketpair()
        with a, b:
            a.sendall(text.encode("latin-1"))
            if close:
                a.shutdown(socket.SHUT_WR)
            got, closed, problems = exchange(b, [(method, 200, None)], "1.1", linger=0.3)
            for m, resp, body in got:
                if resp is not None:
                    problems += check_response(m, resp, body, "1.1", closed, None)
        print(f"{'ok' if problems else 'not ok'} {i} - refused: {name}")
        for pr in problems:
            print(f"#   {pr}")
        failed += not problems
    if LLHTTP is None:
        return 1 if failed else 0
    # llhttp on its own (h11 never sees these bytes): it must refuse them too.
    for i, (name, text) in enumerate(
        [("a blank before a colon", GOOD + "X-A : 1\r\n\r\nabc"),
         ("a bare LF", GOOD.replace("\r\nContent", "\nContent") + "\r\nabc"),
         ("Content-Length longer than the content", GOOD.replace("3", "5") + "\r\nabc")],
        len(BROKEN) + 1,
    ):
        problems = llhttp_check("GET", text.encode(), None, b"")
        print(f"{'ok' if problems else 'not ok'} {i} - llhttp alone refuses: {name}")
        for pr in problems:
            print(f"#   {pr}")
        failed += not problems
    return 1 if failed else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "make-root" and len(argv) == 3:
        import os

        for name, data in FILES.items():
            path = os.path.join(argv[2], name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        return 0
    if len(argv) >= 3 and argv[1] == "run":
        start_llhttp()
        return cmd_run(int(argv[2]), argv[3:])
    if len(argv) == 2 and argv[1] == "list":
        for r in ROWS:
            print(f"{r.group}\tRFC {r.section}\t{r.name}")
        return 0
    if len(argv) == 2 and argv[1] == "selftest":
        start_llhttp()
        return cmd_selftest()
    print(__doc__.strip(), file=sys.stderr if len(argv) < 2 or argv[1] not in ("-h", "--help") else sys.stdout)
    return 0 if len(argv) >= 2 and argv[1] in ("-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
