"""Address normalisation and comparison (docs/api.md#addresses).

Addresses given by an applicant and addresses held by the police and the housing bureau are
compared with `same_address()`, never by raw string equality. Both sides go through
`normalize_address()`; two addresses are the same only if their normal forms are equal and
non-empty.

A mismatch sends the application to a clerk (`NO_RESIDENCE_REGISTRATION`, `NO_HOUSING_RECORD`
are `needs_review`), while a false match would let a decision pass on someone else's address.
Every rule below is therefore *conservative*: it only merges spellings that cannot denote two
different places. When in doubt the spellings are left distinct.

What is normalised, in this order:

1. Unicode NFKC: full-width digits, Latin letters and punctuation become half-width
   (`１号` -> `1号`, `（` -> `(`), circled digits become digits (`⑤` -> `5`).
2. All whitespace (including U+3000 ideographic space and no-break space), control characters
   and invisible format characters (zero-width space/joiners, BOM, soft hyphen, bidi marks,
   embeddings, overrides and isolates) are removed.
3. Latin letters are upper-cased (`a座` -> `A座`, `b1` -> `B1`).
4. Punctuation is canonicalised, not dropped:
   - every dash (`-`, `‐`, `‑`, `‒`, `–`, `—`, `―`, `−`, `﹣`, `－`) becomes `-`, and a run of
     dashes (`——`) becomes one `-`;
   - middle dots (`·`, `・`, `•`, `‧`, `⋅`, `∙`) become `·`;
   - brackets (`()`, `（）`, `[]`, `【】`, `〔〕`, `〖〗`) become `(` and `)`; the bracketed text
     is kept (it may be the only thing telling two rooms apart);
   - `，` `、` `,` `;` `；` are separators and are removed, EXCEPT between two digits, where
     `1,2号` is kept as `1,2号` so that it can never become `12号`;
   - trailing sentence punctuation (`。` `.` `,` `;`) is removed.
5. A leading `上海市` or `上海` is dropped ONLY when it is directly followed by a Shanghai
   district (or former district/county) name and `区`/`县`, e.g. `上海市长宁区…` and
   `上海长宁区…` both become `长宁区…`. Without a district the prefix is kept, because
   `上海` can be the start of a name (`上海大学路` is not `大学路`) and an address without a
   district is, per docs/api.md#addresses, not the same address as one with it.
   The district itself is always kept, and `中国` is not stripped.
6. Chinese numerals directly before a unit word (`号 弄 室 楼 栋 幢 层 单元`) become Arabic
   digits: digit-by-digit (`三〇一室`, `三零一室` -> `301室`) and positional (`三百零一室`,
   `三百〇一室` -> `301室`, `十二弄`/`一十二弄` -> `12弄`, `二十号` -> `20号`,
   `一百号` -> `100号`, `两百号` -> `200号`, `一千二百号` -> `1200号`).
   Positional numerals are parsed strictly: colloquial abbreviations such as `一百一` (110 or
   101?) or `一千二` are ambiguous and are left as written (so they only match themselves).
   A Chinese numeral directly after an Arabic digit (`1二号`) is left as written.
   Numerals elsewhere (`江场三路`, `天山五村`) are left as written.
7. Leading zeros of a number directly before a unit word are dropped (`05号` -> `5号`,
   `0301室` -> `301室`, `〇五号` -> `5号`); a lone `0` stays.

Deliberately NOT merged (each of these may denote a different place, so a clerk decides):

- `5-301室`, `5号301室`, `5号楼301室`, `5栋301室`, `5幢301室`, `5#301室`: the unit words are never
  rewritten, only the numbers in front of them. `栋` and `幢` are not turned into `号楼`:
  `号` at road level is a house number, while `号楼`/`栋`/`幢` number a building inside a
  compound, and `楼` alone is a floor (`5楼` is the 5th floor, `5号楼` is building 5). Whether
  `5-301` means building 5 room 301 or house 5 room 301 cannot be known from the text.
- traditional characters (`號`, `樓`, `單元`) and old/new district names (`闸北区`/`静安区`,
  `崇明县`/`崇明区`, `浦东区`/`浦东新区`).
- `3〇1室` (mixed scripts inside one number) does not become `301室`.

Speed: this runs on every residence-permit decision, so all regexes are compiled at import, the
character mappings are `str.translate` tables, and Chinese-numeral parsing is cached per numeral
string (never per address: addresses are personal data and are not kept in a cache).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import product

__all__ = ["normalize_address", "same_address"]

# --- step 2: whitespace, control and invisible format characters --------------------------------
_INVISIBLE = re.compile(
    r"[\s\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064"
    r"\u2066-\u206f\ufeff]+"
)

# --- step 4: punctuation ------------------------------------------------------------------------
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DOTS = "\u30fb\uff65\u2022\u2027\u22c5\u2219"
_PUNCT_TABLE = str.maketrans(
    {
        **{ch: "-" for ch in _DASHES},
        **{ch: "\u00b7" for ch in _DOTS},
        "[": "(",
        "]": ")",
        "\u3010": "(",  # 【
        "\u3011": ")",  # 】
        "\u3014": "(",  # 〔
        "\u3015": ")",  # 〕
        "\u3016": "(",  # 〖
        "\u3017": ")",  # 〗
        "\uff3b": "(",  # ［ (NFKC already maps it; kept for safety)
        "\uff3d": ")",
        "\u3001": ",",  # 、
        "\uff0c": ",",  # ，
        "\uff1b": ";",  # ；
        "\u3002": ".",  # 。
        "\uff61": ".",  # ｡
    }
)
_DASH_RUN = re.compile(r"-{2,}")
# a separator is removed unless it sits between two digits
_SEPARATOR = re.compile(r"(?<![0-9])[,;]|[,;](?![0-9])")
_TRAILING = re.compile(r"[.,;]+$")

# --- step 5: 上海市 / 上海 prefix ---------------------------------------------------------------
_DISTRICTS = (
    "黄浦|徐汇|长宁|静安|普陀|虹口|杨浦|闵行|宝山|嘉定|浦东新|浦东|金山|松江|青浦|奉贤|崇明"
    "|卢湾|闸北|南市|南汇|川沙|上海"  # former districts and counties (上海县, now part of 闵行)
)
_CITY_PREFIX = re.compile(rf"^上海市?(?=(?:{_DISTRICTS})(?:区|县))")

# --- steps 6 and 7: numbers before unit words ---------------------------------------------------
_UNIT = r"(?:号|弄|室|楼|栋|幢|层|单元)"
_CN_NUMBER = re.compile(rf"(?<![0-9])([〇零一二三四五六七八九十百千两]+)(?={_UNIT})")
_LEADING_ZEROS = re.compile(rf"(?<![0-9])0+(?=[0-9]+{_UNIT})")

_CN_DIGIT = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_MULTIPLIER = {"十": 10, "百": 100, "千": 1000}
_DIGIT_WISE_TABLE = str.maketrans({ch: str(v) for ch, v in _CN_DIGIT.items() if ch != "两"})
_PLAIN_DIGITS = "一二三四五六七八九"


def _positional_spellings(n: int) -> frozenset[str]:
    """Every accepted positional spelling of 1 <= n <= 9999 (`三百零一`, `三百〇一`, `两百` ...)."""
    positions = [(n // 1000 % 10, "千"), (n // 100 % 10, "百"), (n // 10 % 10, "十"), (n % 10, "")]
    while positions and positions[0][0] == 0:
        positions.pop(0)
    while positions and positions[-1][0] == 0:
        positions.pop()
    parts: list[tuple[str, ...]] = []
    previous_zero = False
    for digit, unit in positions:
        if digit == 0:
            if not previous_zero:
                parts.append(("零", "〇"))
            previous_zero = True
            continue
        previous_zero = False
        spelled = _PLAIN_DIGITS[digit - 1]
        if digit == 2 and unit in ("千", "百"):
            parts.append(("二" + unit, "两" + unit))
        elif digit == 1 and unit == "十":
            # 十二 and 一十二; inside a larger number 一百一十 and the informal 一百十
            parts.append(("十", "一十"))
        else:
            parts.append((spelled + unit,))
    return frozenset("".join(choice) for choice in product(*parts))


@lru_cache(maxsize=4096)
def _chinese_number(text: str) -> str | None:
    """Arabic digits for a Chinese numeral, or None when it is not an unambiguous numeral."""
    if not any(ch in _CN_MULTIPLIER for ch in text):
        if "两" in text:
            return None
        return text.translate(_DIGIT_WISE_TABLE).lstrip("0") or "0"
    value = 0
    current: int | None = None
    for ch in text:
        if ch in _CN_MULTIPLIER:
            value += (1 if current is None else current) * _CN_MULTIPLIER[ch]
            current = None
        elif _CN_DIGIT[ch] == 0:
            if current is not None:
                return None
        else:
            if current is not None:
                return None
            current = _CN_DIGIT[ch]
    value += current or 0
    if not 1 <= value <= 9999 or text not in _positional_spellings(value):
        return None
    return str(value)


def _replace_chinese_number(match: re.Match[str]) -> str:
    converted = _chinese_number(match.group(1))
    return match.group(1) if converted is None else converted


def normalize_address(text: str) -> str:
    """The comparison form of an address; see the module docstring for every rule."""
    if not isinstance(text, str):
        raise TypeError(f"address must be a str, not {type(text).__name__}")
    result = unicodedata.normalize("NFKC", text)
    result = _INVISIBLE.sub("", result)
    result = result.upper().translate(_PUNCT_TABLE)
    result = _DASH_RUN.sub("-", result)
    result = _SEPARATOR.sub("", result)
    result = _TRAILING.sub("", result)
    result = _CITY_PREFIX.sub("", result, count=1)
    result = _CN_NUMBER.sub(_replace_chinese_number, result)
    return _LEADING_ZEROS.sub("", result)


def same_address(a: str, b: str) -> bool:
    """True only if both addresses normalise to the same, non-empty form."""
    normal_a = normalize_address(a)
    return bool(normal_a) and normal_a == normalize_address(b)
