"""Bytes to text, deciding the charset the way browsers do (the WHATWG Encoding standard and the
HTML spec's "determining the character encoding"), with one deliberate difference.

The order: a byte order mark; then bytes that are valid UTF-8 and not plain ASCII, decoded as
UTF-8 whatever the labels say (the difference: a server or a `<meta charset>` that says gb2312,
iso-8859-1 or windows-1251 over UTF-8 bytes is wrong far more often than legacy text happens to
be valid UTF-8, and believing the label garbles the whole page); then the transport label
(Content-Type); then, for HTML, a `<meta charset>` / `http-equiv` in the head; then charset
detection; then windows-1252, the web's default. Labels are mapped as WHATWG maps them
(iso-8859-1 and ascii are windows-1252, gb2312 and gbk are gb18030, ...). A label whose
decoder meets bytes it cannot decode yields to detection, so U+FFFD appears only where no
candidate decodes the bytes.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
# The spec prescans 1,024 bytes; real pages put the tag after long comments and scripts, and
# browsers find it there too, so the head is read further.
_PRESCAN_BYTES = 8192
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# WHATWG labels whose decoder is not the Python codec of the same name.
_WHATWG_DECODERS = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "big5": "big5hkscs",
    "x-user-defined": "cp1252",
}


def charset_of(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", content_type, re.I)
    return match.group(1) if match else None


def decode(data: bytes, content_type: str, *, html: bool = False) -> str:
    """The text of `data`: see the module docstring for the order in which charsets are tried."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    if not data.isascii():
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    labels = [charset_of(content_type), meta_charset(data) if html else None]
    decoders = [decoder for label in labels if label and (decoder := whatwg_decoder(label))]
    for decoder in decoders:
        try:
            return data.decode(decoder)
        except UnicodeDecodeError:
            continue
    detected = from_bytes(data[:200_000]).best()
    if detected is not None and detected.encoding:
        try:
            return data.decode(detected.encoding)
        except UnicodeDecodeError:
            pass
    fallback = decoders[0] if decoders else "cp1252"
    return data.decode(fallback, errors="replace")


def meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:_PRESCAN_BYTES])
    return match.group(1).decode("ascii") if match else None


def whatwg_decoder(label: str) -> str | None:
    """The Python codec for a charset label, as WHATWG maps it; None for an unknown label. A
    `<meta>` or header claiming UTF-16 over bytes without a BOM means UTF-8 (the spec says so
    for `<meta>`, and bytes that reached this point have no BOM)."""
    name = label.strip().lower()
    if name.startswith("utf-16") or name in ("utf8", "unicode-1-1-utf-8"):
        return "utf-8"
    name = _WHATWG_DECODERS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
