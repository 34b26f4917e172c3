"""The charset decision: BOM, valid UTF-8, transport label, meta label, detection, windows-1252."""

from __future__ import annotations

import codecs

import pytest

from services.extractor.domain.charsets import decode, whatwg_decoder

RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей чаю."


def _html(body: str, charset: str) -> str:
    return f'<html><head><meta charset="{charset}"><title>t</title></head><body><p>{body}</p></body></html>'


def test_a_byte_order_mark_wins_over_every_label() -> None:
    data = codecs.BOM_UTF16_LE + _html(RUSSIAN, "windows-1251").encode("utf-16-le")
    assert RUSSIAN in decode(data, "text/html; charset=iso-8859-1", html=True)


@pytest.mark.parametrize("label", ["windows-1251", "gb2312", "iso-8859-1", "gbk", "shift_jis"])
def test_valid_utf8_is_not_re_decoded_from_a_wrong_label(label: str) -> None:
    data = _html(RUSSIAN, label).encode("utf-8")
    assert RUSSIAN in decode(data, f"text/html; charset={label}", html=True)
    assert RUSSIAN in decode(data, "text/html", html=True)


def test_a_real_windows_1251_page_is_decoded_from_its_meta_label() -> None:
    data = _html(RUSSIAN, "windows-1251").encode("cp1251")
    assert RUSSIAN in decode(data, "text/html", html=True)


def test_the_transport_label_comes_before_the_meta_label() -> None:
    data = _html(RUSSIAN, "iso-8859-5").encode("koi8-r")
    assert RUSSIAN in decode(data, "text/html; charset=koi8-r", html=True)


def test_labels_decode_as_whatwg_maps_them() -> None:
    # iso-8859-1 is windows-1252 on the web: 0x93/0x94 are curly quotes, not C1 controls.
    data = b"<meta charset=iso-8859-1><p>\x93caf\xe9\x94</p>"
    assert "\u201ccaf\u00e9\u201d" in decode(data, "text/html", html=True)
    assert whatwg_decoder("GB2312") == "gb18030"
    assert whatwg_decoder("x-user-defined") == "cp1252"
    assert whatwg_decoder("utf-16") == "utf-8"  # a <meta> cannot be UTF-16: the bytes are ASCII-compatible
    assert whatwg_decoder("no-such-charset") is None


def test_a_wrong_label_that_cannot_decode_the_bytes_yields_to_detection() -> None:
    text = RUSSIAN * 6
    data = _html(text, "utf-8").encode("cp1251")  # labelled UTF-8, bytes are windows-1251
    decoded = decode(data, "text/html; charset=utf-8", html=True)
    assert "\ufffd" not in decoded
    assert RUSSIAN in decoded
