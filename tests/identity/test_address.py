"""Address normalisation: real-world writing variants must match, different places must not."""

from __future__ import annotations

import pytest

from app.identity.address import normalize_address, same_address

BASE = "长宁区仙霞路99弄5号楼301室"

# (applicant's spelling, registry spelling) pairs that denote the same address
SAME = [
    # prefix 上海市 / 上海 / none
    ("上海市长宁区仙霞路99弄5号楼301室", BASE),
    ("上海长宁区仙霞路99弄5号楼301室", BASE),
    ("上海市长宁区仙霞路99弄5号楼301室", "上海长宁区仙霞路99弄5号楼301室"),
    ("上海市浦东新区张杨路500号", "浦东新区张杨路500号"),
    ("上海 市 徐汇区 漕溪北路 1号", "徐汇区漕溪北路1号"),
    # full-width digits, letters and punctuation
    ("长宁区仙霞路９９弄５号楼３０１室", BASE),
    ("上海市长宁区仙霞路９９弄５号楼３０１室", BASE),
    ("徐汇区漕溪北路１号Ａ座１２０１室", "徐汇区漕溪北路1号A座1201室"),
    ("徐汇区漕溪北路1号（东楼）", "徐汇区漕溪北路1号(东楼)"),
    ("徐汇区漕溪北路1号【东楼】", "徐汇区漕溪北路1号(东楼)"),
    ("静安区江场三路２８８号１８－５０１室", "静安区江场三路288号18-501室"),
    ("静安区江场三路288号18—501室", "静安区江场三路288号18-501室"),
    ("静安区江场三路288号18–501室", "静安区江场三路288号18-501室"),
    ("静安区江场三路288号18——501室", "静安区江场三路288号18-501室"),
    # whitespace of every kind, including U+3000 ideographic space and no-break space
    ("长宁区 仙霞路 99弄 5号楼 301室", BASE),
    ("长宁区　仙霞路　99弄　5号楼　301室", BASE),
    (" 长宁区\t仙霞路99弄\n5号楼301室 ", BASE),
    ("长宁区\u00a0仙霞路99弄5号楼301室", BASE),
    ("长宁区仙霞路\u200b99弄5号楼301室", BASE),
    ("上海　长宁区　仙霞路９９弄　５号楼　３０１室", BASE),
    # separators and trailing punctuation
    ("长宁区，仙霞路99弄，5号楼，301室", BASE),
    ("长宁区、仙霞路99弄5号楼301室。", BASE),
    ("长宁区,仙霞路99弄5号楼301室.", BASE),
    # lower-case Latin letters
    ("徐汇区漕溪北路1号a座1201室", "徐汇区漕溪北路1号A座1201室"),
    ("徐汇区漕溪北路1号ａ座", "徐汇区漕溪北路1号A座"),
    # Chinese numerals before 号/弄/室/楼/栋/幢/层/单元
    ("长宁区仙霞路九十九弄五号楼三〇一室", BASE),
    ("长宁区仙霞路99弄五号楼三〇一室", BASE),
    ("长宁区仙霞路99弄五号楼三零一室", BASE),
    ("长宁区仙霞路99弄5号楼三百零一室", BASE),
    ("长宁区仙霞路99弄5号楼三百〇一室", BASE),
    ("上海市长宁区仙霞路九九弄五号楼三〇一室", BASE),
    ("长宁区仙霞路一号", "长宁区仙霞路1号"),
    ("长宁区仙霞路十二弄", "长宁区仙霞路12弄"),
    ("长宁区仙霞路一十二弄", "长宁区仙霞路12弄"),
    ("长宁区仙霞路二十号", "长宁区仙霞路20号"),
    ("长宁区仙霞路二十三号", "长宁区仙霞路23号"),
    ("长宁区仙霞路一百号", "长宁区仙霞路100号"),
    ("长宁区仙霞路一百一十号", "长宁区仙霞路110号"),
    ("长宁区仙霞路两百号", "长宁区仙霞路200号"),
    ("长宁区仙霞路二百号", "长宁区仙霞路200号"),
    ("长宁区仙霞路一千二百号", "长宁区仙霞路1200号"),
    ("长宁区仙霞路一千零一号", "长宁区仙霞路1001号"),
    ("长宁区仙霞路5号楼三楼", "长宁区仙霞路5号楼3楼"),
    ("长宁区仙霞路5号十二层", "长宁区仙霞路5号12层"),
    ("长宁区仙霞路5栋二单元", "长宁区仙霞路5栋2单元"),
    ("长宁区仙霞路五幢", "长宁区仙霞路5幢"),
    ("长宁区仙霞路五栋", "长宁区仙霞路5栋"),
    # leading zeros
    ("长宁区仙霞路99弄05号楼0301室", BASE),
    ("长宁区仙霞路099弄5号楼301室", BASE),
    ("长宁区仙霞路〇五号", "长宁区仙霞路5号"),
    # circled digit (NFKC)
    ("长宁区仙霞路99弄⑤号楼301室", BASE),
    # everything at once
    ("上海市　长宁区 仙霞路 ９９弄，五号楼 三百零一室。", BASE),
    ("上海长宁区仙霞路九十九弄五号楼三〇一室", "上海市长宁区仙霞路９９弄０５号楼０３０１室"),
]

# pairs that must NOT match: a false match is worse than a clerk's review
DIFFERENT = [
    # different room / building / lane / house / floor
    (BASE, "长宁区仙霞路99弄5号楼302室"),
    (BASE, "长宁区仙霞路99弄6号楼301室"),
    (BASE, "长宁区仙霞路98弄5号楼301室"),
    (BASE, "长宁区仙霞路99弄5号楼3010室"),
    (BASE, "长宁区仙霞路99弄5号楼30室"),
    (BASE, "长宁区仙霞路99弄5号楼三〇室"),
    (BASE, "长宁区仙霞路99弄5号楼三千零一室"),
    ("长宁区仙霞路1号", "长宁区仙霞路11号"),
    ("长宁区仙霞路一号", "长宁区仙霞路十一号"),
    ("长宁区仙霞路十号", "长宁区仙霞路1号"),
    ("长宁区仙霞路二十号", "长宁区仙霞路2号"),
    ("长宁区仙霞路一百号", "长宁区仙霞路1号"),
    ("长宁区仙霞路5号楼3楼", "长宁区仙霞路5号楼3层301室"),
    # different district / road / city
    (BASE, "徐汇区仙霞路99弄5号楼301室"),
    (BASE, "长宁区虹桥路99弄5号楼301室"),
    ("长宁区仙霞路99弄5号楼301室", "上海市仙霞路99弄5号楼301室"),
    (BASE, "仙霞路99弄5号楼301室"),
    ("上海市长宁区仙霞路1号", "北京市长宁区仙霞路1号"),
    ("静安区江场三路1号", "静安区江场二路1号"),
    ("静安区江场三路1号", "静安区江场3路1号"),  # numerals outside a unit are kept
    # punctuation never merges different numbers
    ("长宁区仙霞路1,2号", "长宁区仙霞路12号"),
    ("长宁区仙霞路1-2号", "长宁区仙霞路12号"),
    ("长宁区仙霞路1·2号", "长宁区仙霞路12号"),
    # conservative decisions: these MAY be the same place, a clerk decides
    ("长宁区仙霞路99弄5-301室", BASE),
    ("长宁区仙霞路99弄5号301室", BASE),
    ("长宁区仙霞路99弄5栋301室", BASE),
    ("长宁区仙霞路99弄5幢301室", BASE),
    ("长宁区仙霞路99弄5栋301室", "长宁区仙霞路99弄5幢301室"),
    ("长宁区仙霞路99弄5楼301室", BASE),
    ("长宁区仙霞路99弄5#301室", BASE),
    ("长宁区仙霞路99弄5號樓301室", BASE),
    ("闸北区共和新路1号", "静安区共和新路1号"),
    ("浦东区张杨路500号", "浦东新区张杨路500号"),
    ("上海大学路1号", "大学路1号"),
    ("上海市大学路1号", "大学路1号"),
    ("中国上海市长宁区仙霞路1号", "长宁区仙霞路1号"),
    # ambiguous colloquial numerals are left as written
    ("长宁区仙霞路一百一号", "长宁区仙霞路110号"),
    ("长宁区仙霞路一百一号", "长宁区仙霞路101号"),
    ("长宁区仙霞路一千二号", "长宁区仙霞路1200号"),
    ("长宁区仙霞路二百五号", "长宁区仙霞路250号"),
    ("长宁区仙霞路3〇1室", "长宁区仙霞路301室"),
    ("长宁区仙霞路(东楼)1号", "长宁区仙霞路(西楼)1号"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_address(a: str, b: str) -> None:
    assert same_address(a, b), (normalize_address(a), normalize_address(b))
    assert same_address(b, a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_address(a: str, b: str) -> None:
    assert not same_address(a, b), (normalize_address(a), normalize_address(b))
    assert not same_address(b, a)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("上海市长宁区仙霞路９９弄五号楼三〇一室", "长宁区仙霞路99弄5号楼301室"),
        ("上海长宁区仙霞路", "长宁区仙霞路"),
        ("上海大学路1号", "上海大学路1号"),
        ("浦东新区张杨路５００号Ｂ座", "浦东新区张杨路500号B座"),
        ("长宁区仙霞路三百零一室", "长宁区仙霞路301室"),
        ("长宁区仙霞路十号", "长宁区仙霞路10号"),
        ("长宁区仙霞路0号", "长宁区仙霞路0号"),
        ("长宁区仙霞路〇号", "长宁区仙霞路0号"),
        ("长宁区仙霞路00号", "长宁区仙霞路0号"),
        ("长宁区仙霞路1,2号", "长宁区仙霞路1,2号"),
        ("长宁区，仙霞路（近虹桥路）5—301室。", "长宁区仙霞路(近虹桥路)5-301室"),
        ("徐汇区天山五村1号", "徐汇区天山五村1号"),
        ("静安区江场三路1号", "静安区江场三路1号"),
        ("长宁区仙霞路1二号", "长宁区仙霞路1二号"),
        ("长宁区仙霞路两号", "长宁区仙霞路两号"),
        ("长宁区\u202e仙霞路\u2066\u200f1号", "长宁区仙霞路1号"),
        ("长宁区仙霞路・1号", "长宁区仙霞路·1号"),
    ],
)
def test_normalize_address(raw: str, normal: str) -> None:
    assert normalize_address(raw) == normal


def test_normalize_is_idempotent() -> None:
    for a, b in SAME + DIFFERENT:
        for text in (a, b):
            once = normalize_address(text)
            assert normalize_address(once) == once


@pytest.mark.parametrize("blank", ["", " ", "\u3000", "\u200b", "。"])
def test_empty_address_matches_nothing(blank: str) -> None:
    assert normalize_address(blank) == ""
    assert not same_address(blank, blank)
    assert not same_address(blank, "")


def test_raw_equality_is_not_required() -> None:
    a, b = "上海市长宁区仙霞路99弄5号楼301室", "长宁区仙霞路九十九弄五号楼三〇一室"
    assert a != b and same_address(a, b)


def test_non_string_rejected() -> None:
    with pytest.raises(TypeError):
        normalize_address(None)  # type: ignore[arg-type]
