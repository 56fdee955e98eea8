# SPDX-License-Identifier: AGPL-3.0-or-later
"""A minimal FastCGI client (FastCGI 1.0 spec §3-§5) for tests that need
what cgi-fcgi cannot send: a body without CONTENT_LENGTH, split across
several stdin records."""
import socket
import struct

VERSION, BEGIN, END, PARAMS, STDIN, STDOUT, STDERR = 1, 1, 3, 4, 5, 6, 7


def _record(rtype, content, req_id=1):
    out = b""
    while True:
        part, content = content[:65535], content[65535:]
        out += struct.pack("!BBHHBx", VERSION, rtype, req_id, len(part), 0)
        out += part
        if not content:
            return out


def _pair(k, v):
    def ln(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 1 << 31)
    k, v = k.encode(), v.encode()
    return ln(len(k)) + ln(len(v)) + k + v


def fcgi_raw(sock_path, uri, method, params, chunks):
    """Send one request whose body is `chunks` (a list of bytes, one stdin
    record each) and no CONTENT_LENGTH.  Returns (status, headers, body)."""
    env = {"REQUEST_METHOD": method, "REQUEST_URI": uri,
           "SCRIPT_NAME": uri.split("?")[0], "REQUEST_ID": "r" * 16}
    env.update(params)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sock_path)
    data = _record(BEGIN, struct.pack("!HB5x", 1, 0))
    data += _record(PARAMS, b"".join(_pair(k, v) for k, v in env.items()))
    data += _record(PARAMS, b"")
    for c in chunks:
        data += _record(STDIN, c)
    data += _record(STDIN, b"")
    s.sendall(data)
    out = b""
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    while len(buf) >= 8:
        _, rtype, _, clen, plen = struct.unpack("!BBHHB", buf[:7])
        content = buf[8:8 + clen]
        buf = buf[8 + clen + plen:]
        if rtype == STDOUT:
            out += content
        elif rtype == END:
            break
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(l.split(": ", 1) for l in lines[1:])
    return status, headers, body
