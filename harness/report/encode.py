"""Figures as compact data URIs: line charts as SVG, raster-like figures as palette PNG.

The report is one file that is mailed and committed, so every figure is inlined and every
byte counts: an SVG keeps its text as text (the browser's serif draws it), loses
matplotlib's metadata, unused ids and sub-0.1 pt precision; a PNG is reduced to a small
palette, which heat maps and skeleton drawings survive unchanged to the eye.
"""
from __future__ import annotations

import base64
import io
import re
import struct
from dataclasses import dataclass
from urllib.parse import quote

# Figures are shown a little larger than print size (96 px per inch) so their 8-9 pt labels
# read on screen.
CSS_PX_PER_INCH = 108
PNG_DPI = 120
PNG_COLOURS = 64


@dataclass(frozen=True)
class Image:
    """A data URI, and the CSS width at which its text reads at its point size."""

    uri: str
    width: int

    @property
    def size(self) -> int:
        return len(self.uri)


_TAG = re.compile(r"<[^>]+>")
_LONG_NUMBER = re.compile(r"(-?\d+\.\d)\d+")
_PATH_SPACE = re.compile(r" ?([MLCQZz]) ?")
_ID = re.compile(r' id="([^"]+)"')


def _tighten_tag(match: re.Match) -> str:
    tag = re.sub(r"\s+", " ", match.group(0))
    tag = _LONG_NUMBER.sub(r"\1", tag)
    return re.sub(r' d="([^"]*)"', lambda m: ' d="' + _PATH_SPACE.sub(r"\1", m.group(1)).strip()
                  + '"', tag)


_FONT = re.compile(r"font-family: ([^;\"]+);? ?")
_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [^)]*\)"')


def _drop_bare_groups(text: str) -> str:
    """Remove ``<g>`` elements without attributes (they change nothing), keeping children."""
    out, stack, last = [], [], 0
    for match in re.finditer(r"<g>|<g [^>]*>|</g>", text):
        out.append(text[last:match.start()])
        token = match.group(0)
        if token == "</g>":
            if not stack.pop():
                out.append(token)
        else:
            stack.append(token == "<g>")
            if token != "<g>":
                out.append(token)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def compact_svg(text: str) -> str:
    """matplotlib's SVG without what a browser does not need; text content is untouched."""
    text = re.sub(r"<\?xml[^>]*>|<!DOCTYPE[^>]*>|<metadata>.*?</metadata>", "", text, flags=re.S)
    referenced = set(re.findall(r"url\(#([^)]+)\)", text)) | set(re.findall(r'href="#([^"]+)"', text))
    text = _ID.sub(lambda m: m.group(0) if m.group(1) in referenced else "", text)
    text = _NO_ROTATION.sub("", text)
    # One font rule for every text element instead of one per element.
    fonts = _FONT.findall(text)
    if fonts and len(set(fonts)) == 1:
        text = _FONT.sub("", text)
        rule = "text{font-family:%s}" % fonts[0].replace("'", '"')
        if "</style>" in text:
            text = text.replace("</style>", rule + "</style>", 1)
        else:
            text = re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + f"<style>{rule}</style>",
                          text, count=1)
    text = _TAG.sub(_tighten_tag, text)
    text = re.sub(r' style="([^"]*)"',
                  lambda m: ' style="' + re.sub(r"\s*([:;])\s*", r"\1", m.group(1)).rstrip(";")
                  + '"', text)
    text = re.sub(r">\s+<", "><", text).strip()
    return _drop_bare_groups(text)


def svg_uri(text: str) -> str:
    """A UTF-8 data URI (smaller than base64 for text): only the characters that would end the
    HTML attribute or change the URL's meaning are escaped."""
    if "'" not in text:
        text = text.replace('"', "'")
    return "data:image/svg+xml," + quote(text, safe=" /:;=,.-_()'!*~+?@$[]{}<>|")


def svg(fig, style: dict | None = None) -> Image:
    import matplotlib
    buffer = io.StringIO()
    with matplotlib.rc_context({**(style or {}), "svg.fonttype": "none",
                                "svg.hashsalt": "slrbench"}):
        fig.savefig(buffer, format="svg")
    text = compact_svg(buffer.getvalue())
    match = re.search(r'<svg[^>]* width="([\d.]+)pt"', text)
    points = float(match.group(1)) if match else 432.0
    return Image(svg_uri(text), round(points * CSS_PX_PER_INCH / 72))


def png(fig, style: dict | None = None, dpi: int = PNG_DPI,
        colours: int = PNG_COLOURS) -> Image:
    import matplotlib
    from PIL import Image as Picture
    buffer = io.BytesIO()
    with matplotlib.rc_context(style or {}):
        fig.savefig(buffer, format="png", dpi=dpi)
    picture = Picture.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    small = picture.quantize(colors=colours, method=Picture.Quantize.MEDIANCUT,
                             dither=Picture.Dither.NONE)
    out = io.BytesIO()
    small.save(out, format="png", optimize=True)
    data = out.getvalue()
    pixels = struct.unpack(">I", data[16:20])[0]          # IHDR width
    return Image("data:image/png;base64," + base64.b64encode(data).decode("ascii"),
                 round(pixels * CSS_PX_PER_INCH / dpi))
