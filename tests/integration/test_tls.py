# SPDX-License-Identifier: AGPL-3.0-or-later
"""TLS of the shipped nginx example (issue 10, BSI TR-02102-2): nginx runs
with every ssl_* directive of conf/nginx-production.conf.example and a
self-signed certificate, and openssl s_client checks what the handshake
offers: TLS 1.2 and 1.3 only, forward-secret AES-GCM suites only."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from conftest import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "conf", "nginx-production.conf.example")


def ssl_directives():
    """The example's ssl_* lines, except the certificate paths."""
    out = []
    for line in open(EXAMPLE):
        line = line.strip()
        if line.startswith("ssl_") and not line.startswith(
                ("ssl_certificate ", "ssl_certificate_key ",
                 "ssl_trusted_certificate ", "ssl_stapling")):
            out.append(line)
    return out


def handshake(port, *args):
    """(ok, protocol, cipher) of one openssl s_client handshake."""
    r = subprocess.run(["openssl", "s_client", "-connect",
                        "127.0.0.1:%d" % port, "-servername", "localhost"] +
                       list(args), input="", capture_output=True, text=True,
                       timeout=20)
    proto = re.search(r"^\s*Protocol\s*:\s*(\S+)", r.stdout, re.M)
    cipher = re.search(r"^\s*Cipher\s*:\s*(\S+)", r.stdout, re.M)
    ok = r.returncode == 0 and cipher is not None and \
        cipher.group(1) not in ("0000", "(NONE)")
    handshake.last = r.stdout[-800:] + r.stderr[-800:]
    return ok, proto.group(1) if proto else None, \
        cipher.group(1) if cipher else None


def test_shipped_tls_settings_offer_only_tls12_13_with_forward_secrecy():
    d = tempfile.mkdtemp(prefix="refx-tls-")
    try:
        key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-subj", "/CN=localhost", "-days", "1", "-keyout",
                        key, "-out", cert], check=True, capture_output=True)
        port = free_port()
        directives = ssl_directives()
        assert "ssl_protocols TLSv1.2 TLSv1.3;" in directives
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write("daemon off;\nworker_processes 1;\n%spid %s/nginx.pid;\n"
                    "error_log %s/error.log;\nevents {}\nhttp {\n"
                    "access_log off;\nclient_body_temp_path %s;\n"
                    "server {\nlisten 127.0.0.1:%d ssl;\n"
                    "ssl_certificate %s;\nssl_certificate_key %s;\n%s\n"
                    "location / { return 200 \"ok\\n\"; }\n}\n}\n" % (
                        "user root;\n" if os.geteuid() == 0 else "", d, d, d,
                        port, cert, key, "\n".join(directives)))
        ng = subprocess.Popen(["/usr/sbin/nginx", "-p", d, "-e",
                               os.path.join(d, "error.log"), "-c",
                               os.path.join(d, "nginx.conf")])
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and ng.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            err = open(os.path.join(d, "error.log")).read() if \
                os.path.exists(os.path.join(d, "error.log")) else ""
            assert ng.poll() is None, err
            for _ in range(30):     # the worker process may start later
                ok, proto, cipher = handshake(port, "-tls1_3")
                if ok:
                    break
                time.sleep(0.3)
            assert (ok, proto) == (True, "TLSv1.3"), err + handshake.last
            assert cipher in ("TLS_AES_256_GCM_SHA384",
                              "TLS_AES_128_GCM_SHA256")
            ok, proto, cipher = handshake(port, "-tls1_2")
            assert (ok, proto) == (True, "TLSv1.2")
            assert cipher.startswith("ECDHE-") and "GCM" in cipher
            # refused: old protocols, suites without forward secrecy or
            # outside the BSI list
            for args in (("-tls1_1",), ("-tls1",),
                         ("-tls1_2", "-cipher", "AES256-GCM-SHA384"),
                         ("-tls1_2", "-cipher", "AES128-SHA"),
                         ("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"),
                         ("-tls1_3", "-ciphersuites",
                          "TLS_CHACHA20_POLY1305_SHA256")):
                assert handshake(port, *args)[0] is False, args
        finally:
            ng.terminate()
            ng.wait(10)
    finally:
        shutil.rmtree(d, ignore_errors=True)
