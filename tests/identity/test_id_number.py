"""GB 11643-1999 resident identity numbers, tested through app.identity.id_number's public API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import BaseModel, ValidationError

from app.identity.id_number import (
    IdNumber,
    InvalidIdNumber,
    check_digit,
    is_valid,
    mask,
    province_code,
    validate,
)

# Independently checked: ISO 7064 MOD 11-2 with weights 2^(17-i) mod 11.
VALID = [
    "11010519491231002X",  # the standard's own example, checksum X
    "31010519900307105X",  # Shanghai, checksum X
    "31010419800103123X",  # Shanghai, checksum X
    "310104199001011233",
    "310104198506151237",
    "310104200002291236",  # 29 February of a leap year
]


def _reference_check_digit(first17: str) -> str:
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def _with_check_digit(first17: str) -> str:
    return first17 + _reference_check_digit(first17)


@pytest.mark.parametrize("id_number", VALID)
def test_valid_ids(id_number: str) -> None:
    assert validate(id_number) == id_number
    assert is_valid(id_number)
    assert check_digit(id_number[:17]) == id_number[17]
    assert _reference_check_digit(id_number[:17]) == id_number[17]


@pytest.mark.parametrize("id_number", [i for i in VALID if i.endswith("X")])
def test_lower_case_x_accepted_and_canonicalised(id_number: str) -> None:
    lower = id_number[:17] + "x"
    assert validate(lower) == id_number
    assert is_valid(lower)


def test_surrounding_whitespace_stripped() -> None:
    assert validate("  11010519491231002X\n") == "11010519491231002X"


@pytest.mark.parametrize("id_number", VALID)
def test_wrong_checksum(id_number: str) -> None:
    for wrong in "0123456789X":
        if wrong == id_number[17]:
            continue
        candidate = id_number[:17] + wrong
        with pytest.raises(InvalidIdNumber, match="checksum"):
            validate(candidate)
        assert not is_valid(candidate)


def test_single_digit_typo_is_caught() -> None:
    original = "310104199001011233"
    typo = original[:11] + "2" + original[12:]  # 19900101 -> 19900201: still a real date
    with pytest.raises(InvalidIdNumber, match="checksum"):
        validate(typo)


@pytest.mark.parametrize("birth", ["19990230", "19990231", "19991301", "19990001", "19990100", "19000229", "20010229"])
def test_birth_date_not_a_real_date(birth: str) -> None:
    candidate = _with_check_digit("310104" + birth + "123")
    with pytest.raises(InvalidIdNumber, match="not a real date"):
        validate(candidate)


def test_birth_date_in_the_future() -> None:
    tomorrow = (date.today() + timedelta(days=1)).strftime("%Y%m%d")
    with pytest.raises(InvalidIdNumber, match="out of range"):
        validate(_with_check_digit("310104" + tomorrow + "123"))


def test_birth_date_today_accepted() -> None:
    today = date.today().strftime("%Y%m%d")
    candidate = _with_check_digit("310104" + today + "123")
    assert validate(candidate) == candidate


def test_birth_date_before_1900() -> None:
    with pytest.raises(InvalidIdNumber, match="out of range"):
        validate(_with_check_digit("310104" + "18991231" + "123"))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "3101041990010112",  # 16
        "31010419900101123",  # 17
        "3101041990010112333",  # 19
        "310104900101123",  # old 15-digit format
    ],
)
def test_wrong_length(bad: str) -> None:
    with pytest.raises(InvalidIdNumber, match="18 characters"):
        validate(bad)
    assert not is_valid(bad)


@pytest.mark.parametrize(
    "bad",
    [
        "31010419900101123A",
        "3101041990O101123X",  # letter O instead of zero
        "X10104199001011233",
        "31010419900101X233",
        "310104-19900101-12",
        "31010419900101123 ",
        "3101041990 1011233",
        "31010419900101123Y",
    ],
)
def test_letters_and_symbols(bad: str) -> None:
    with pytest.raises(InvalidIdNumber):
        validate(bad)


def test_leading_zero_region_rejected() -> None:
    candidate = _with_check_digit("01010419900101123")
    with pytest.raises(InvalidIdNumber, match="18 characters"):
        validate(candidate)


def test_invalid_id_number_is_a_value_error() -> None:
    assert issubclass(InvalidIdNumber, ValueError)


def test_full_width_digits_not_accepted_as_canonical() -> None:
    full_width = "1" + "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in "1010519491231002X")
    try:
        result = validate(full_width)
    except InvalidIdNumber:
        return
    assert result == "11010519491231002X"


def test_mask_shape() -> None:
    assert mask("31010419800103123X") == "3101**********123X"
    assert mask(validate("31010419800103123x")) == "3101**********123X"
    masked = mask("310104199001011233")
    assert len(masked) == 18
    assert masked == "3101" + "*" * 10 + "1233"
    assert "19900101" not in masked


def test_province_code() -> None:
    assert province_code("310104199001011233") == "31"
    assert province_code("11010519491231002X") == "11"


class _Applicant(BaseModel):
    id_number: IdNumber


def test_pydantic_type_accepts_and_canonicalises() -> None:
    assert _Applicant(id_number="11010519491231002x").id_number == "11010519491231002X"


@pytest.mark.parametrize("bad", ["11010519491231002Y", "110105194912310021", "31010419990230123X", "abc"])
def test_pydantic_type_rejects(bad: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        _Applicant(id_number=bad)
    errors = excinfo.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"] == ("id_number",)
    assert "not a valid resident identity number" in errors[0]["msg"]


def test_pydantic_type_rejects_non_string() -> None:
    with pytest.raises(ValidationError):
        _Applicant(id_number=310104199001011233)  # type: ignore[arg-type]
