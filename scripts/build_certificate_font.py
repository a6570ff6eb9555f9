"""Build the CJK font every certificate embeds: app/certificates/fonts/NotoSerifSC-Certificates.ttf.

Why a built file: reportlab embeds (and subsets per document) only TrueType `glyf` fonts, and Noto
Serif SC / Source Han Serif, the OFL-licensed Song-style faces, are published with CFF outlines. This
script takes Noto Serif SC Regular as packaged on PyPI (`pylopdf-fonts-zh-cn`, OFL-1.1), keeps the
characters a certificate can need (the whole GBK repertoire: all 20,902 CJK Unified Ideographs of the
basic block, so uncommon name characters such as 堃, 喆 and 玥 are there, plus punctuation and Latin),
and converts the cubic CFF outlines to quadratic TrueType ones (fontTools' cu2qu, 1 unit tolerance at
1000 units per em: invisible in print). Layout tables are dropped: reportlab does no shaping.

Run it only to change the character set or the source font (it takes a few minutes):

    python3 -m venv /tmp/fontbuild && /tmp/fontbuild/bin/pip install fonttools pylopdf-fonts-zh-cn
    /tmp/fontbuild/bin/python scripts/build_certificate_font.py

The SIL Open Font License travels with the font (app/certificates/fonts/OFL.txt), as it requires.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

OUT = Path(__file__).resolve().parents[1] / "app" / "certificates" / "fonts" / "NotoSerifSC-Certificates.ttf"


def repertoire() -> set[int]:
    """ASCII, general and CJK punctuation, full-width forms, and every character GBK encodes."""
    chars = set(range(0x20, 0x7F)) | set(range(0x2010, 0x2070)) | set(range(0x3000, 0x3040))
    chars |= set(range(0xFF00, 0xFFF0)) | {0x00B7, 0x00D7, 0x2116, 0x25CB, 0x2605}
    for high in range(0x81, 0xFF):
        for low in range(0x40, 0xFF):
            try:
                chars.add(ord(bytes((high, low)).decode("gbk")))
            except (UnicodeDecodeError, TypeError):
                continue
    return chars


def to_truetype(font: TTFont) -> None:
    """Replace CFF outlines by TrueType quadratic ones (after fontTools' Snippets/otf2ttf.py)."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].indexToLocFormat = 0
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0  # no glyph names: smaller, and PDF embedding never uses them
    font.sfntVersion = "\x00\x01\x00\x00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    spec = importlib.util.find_spec("pylopdf_fonts_zh_cn")
    default_source = Path(spec.origin).parent / "NotoSerifSC-Regular.otf" if spec and spec.origin else None
    parser.add_argument("--source", type=Path, default=default_source, help="Noto Serif SC Regular (CFF .otf)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.source is None or not args.source.is_file():
        parser.error("no source font: pip install pylopdf-fonts-zh-cn, or pass --source")
    font = TTFont(args.source)
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx", "DSIG"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=repertoire())
    subsetter.subset(font)
    to_truetype(font)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    font.save(args.out)
    print(f"{args.out}: {len(font.getGlyphOrder())} glyphs, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
