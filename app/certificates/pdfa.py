"""The archival parts of a certificate beyond embedded fonts: an output intent and XMP metadata.

reportlab (open-source edition) writes neither, so both are attached to its document catalog here:
- an sRGB output intent (`/GTS_PDFA1`) carrying an ICC profile. The profile is a minimal ICC v2
  display profile (sRGB primaries, D65 white adapted to D50, the sRGB tone curve as a table), built
  once from the published constants: no profile file to ship;
- an XMP packet with the title, author, subject, producer and dates that also stand in the document
  information dictionary (the two agree).

These are what PDF/A-2b asks for, but the XMP makes no PDF/A claim (no `pdfaid:part`): a document
may claim conformance only once a PDF/A validator has passed it, and none can run where this project
is built and tested (docs/deployment.md, under "The image", says why and what a claim would take).
"""

from __future__ import annotations

import struct
from datetime import datetime
from functools import cache
from xml.sax.saxutils import escape

from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream, PDFString
from reportlab.pdfgen.canvas import Canvas

# D50-adapted sRGB colorants (IEC 61966-2-1, Bradford-adapted, as in every sRGB v2 profile).
_WHITE_D50 = (0.9642, 1.0, 0.8249)
_RED = (0.4361, 0.2225, 0.0139)
_GREEN = (0.3851, 0.7169, 0.0971)
_BLUE = (0.1431, 0.0606, 0.7141)


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ " + bytes(4) + b"".join(_s15(v) for v in xyz)


def _text_description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    # ASCII part, then empty Unicode and ScriptCode parts (ICC.1:2001-04 textDescriptionType).
    return (
        b"desc"
        + bytes(4)
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + bytes(4)
        + bytes(4)
        + bytes(3)
        + bytes(67)
    )


def _srgb_curve(points: int = 1024) -> bytes:
    values = []
    for i in range(points):
        v = i / (points - 1)
        linear = v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
        values.append(round(linear * 65535))
    return b"curv" + bytes(4) + struct.pack(">I", points) + struct.pack(f">{points}H", *values)


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


@cache
def srgb_icc_profile() -> bytes:
    """A complete ICC v2.1 RGB display profile for sRGB, about 2.6 KB."""
    curve = _srgb_curve()
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", _text_description("sRGB IEC61966-2.1")),
        (b"cprt", b"text" + bytes(4) + b"No copyright, use freely\0"),
        (b"wtpt", _xyz(_WHITE_D50)),
        (b"rXYZ", _xyz(_RED)),
        (b"gXYZ", _xyz(_GREEN)),
        (b"bXYZ", _xyz(_BLUE)),
        (b"rTRC", curve),
        (b"gTRC", curve),  # the same data: a reader may share it, but separate copies are simplest
        (b"bTRC", curve),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    directory, data = [], b""
    for signature, body in tags:
        directory.append(signature + struct.pack(">II", offset + len(data), len(body)))
        data += _pad4(body)
    size = 128 + table_size + len(data)
    header = (
        struct.pack(">I", size)
        + b"none"  # preferred CMM: none
        + bytes((2, 0x10, 0, 0))  # version 2.1.0
        + b"mntr"
        + b"RGB "
        + b"XYZ "
        + struct.pack(">6H", 2000, 1, 1, 0, 0, 0)  # creation date: fixed, so every PDF's profile is identical
        + b"acsp"
        + b"APPL"
        + bytes(4)  # flags
        + bytes(4)
        + bytes(4)  # device manufacturer, model
        + bytes(8)  # device attributes
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + _s15(_WHITE_D50[0])
        + _s15(_WHITE_D50[1])
        + _s15(_WHITE_D50[2])  # PCS illuminant
        + bytes(4)  # creator
        + bytes(16)  # profile id (v4 only)
        + bytes(28)  # reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(directory) + data


def _xmp_date(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def xmp_packet(
    *, title: str, author: str, subject: str, keywords: str, creator_tool: str, producer: str, created: datetime
) -> bytes:
    e = escape
    packet = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{e(title)}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{e(author)}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{e(subject)}</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{e(producer)}</pdf:Producer>
   <pdf:Keywords>{e(keywords)}</pdf:Keywords>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>{e(creator_tool)}</xmp:CreatorTool>
   <xmp:CreateDate>{_xmp_date(created)}</xmp:CreateDate>
   <xmp:ModifyDate>{_xmp_date(created)}</xmp:ModifyDate>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return packet.encode("utf-8")


def attach_pdfa_parts(canvas: Canvas, *, xmp: bytes) -> None:
    """Add the sRGB output intent and the XMP metadata stream to `canvas`'s catalog (before save)."""
    doc = canvas._doc  # reportlab exposes no API for either; its catalog takes extra entries as attributes
    profile = PDFStream(PDFDictionary({"N": 3}), srgb_icc_profile(), filters=None)
    intent = PDFDictionary(
        {
            "Type": PDFName("OutputIntent"),
            "S": PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": PDFString("sRGB IEC61966-2.1"),
            "Info": PDFString("sRGB IEC61966-2.1"),
            "DestOutputProfile": doc.Reference(profile),
        }
    )
    doc.Catalog.OutputIntents = PDFArray([doc.Reference(intent)])
    # Metadata must stay uncompressed and unfiltered so that XMP-aware tools can find the packet.
    metadata = PDFStream(PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML")}), xmp, filters=[])
    doc.Catalog.Metadata = metadata  # the catalog makes it an indirect object (Metadata is among its refs)
    # The catalog writes only the keys it lists; this instance lists one more.
    doc.Catalog.__NoDefault__ = [*type(doc.Catalog).__NoDefault__, "OutputIntents"]
