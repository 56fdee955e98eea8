#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Write a small, valid one-page PDF (PDF 1.4, Helvetica text lines) for the
demo data and the tests: scripts/mkpdf.py OUT "line 1" "line 2" ...

Hand-written on purpose: a few lines of text need no PDF library, and the
output must be byte-for-byte reproducible for the same lines."""
import sys


def _esc(s):
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(lines):
    """The bytes of a one-page A4 PDF showing lines (latin-1 text)."""
    text = "BT /F1 12 Tf 72 770 Td 16 TL\n"
    for ln in lines:
        text += "(%s) '\n" % _esc(ln)
    text += "ET\n"
    stream = text.encode("latin-1", "replace")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
        b"/Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream +
        b"endstream",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += (b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, xref))
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.stderr.write("usage: mkpdf.py OUT [LINE...]\n")
        sys.exit(2)
    with open(sys.argv[1], "wb") as f:
        f.write(pdf(sys.argv[2:]))
