"""Names: cleaning on input and masking for third parties."""

from __future__ import annotations

import unicodedata

import pytest

from app.identity.names import MAX_NAME_LENGTH, clean_name, mask_name


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("李", "*"),
        ("王小明", "王**"),
        ("买买提·艾力", "买*****"),
        ("John Smith", "J*********"),
        ("  张三  ", "张*"),
        ("\u202e张三", "张*"),
        ("张\u200b三", "张*"),
        ("𠮷野", "𠮷*"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_mask_name_hides_everything_but_the_first_character() -> None:
    masked = mask_name("欧阳娜娜")
    assert set(masked[1:]) == {"*"}
    assert "阳" not in masked and "娜" not in masked


def test_mask_name_decomposed_input_keeps_whole_first_letter() -> None:
    decomposed = unicodedata.normalize("NFD", "Émile")
    assert mask_name(decomposed) == "É****"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("张三", "张三"),
        ("  张三 ", "张三"),
        ("\u3000张三\u3000", "张三"),
        ("张三\n", "张三"),
        ("买买提·艾力", "买买提·艾力"),
        ("买买提・艾力", "买买提·艾力"),
        ("买买提•艾力", "买买提·艾力"),
        ("阿卜杜热依木·买买提·艾力", "阿卜杜热依木·买买提·艾力"),
        ("John Smith", "John Smith"),
        ("Anna Maria de la Cruz", "Anna Maria de la Cruz"),
        ("O'Brien", "O'Brien"),
        ("欧阳娜娜", "欧阳娜娜"),
        ("𠮷野家", "𠮷野家"),
        ("\ue000三", "\ue000三"),
        ("李", "李"),
        ("x" * MAX_NAME_LENGTH, "x" * MAX_NAME_LENGTH),
    ],
)
def test_clean_name_accepts(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_clean_name_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Zoë Müller")
    assert decomposed != "Zoë Müller"
    assert clean_name(decomposed) == "Zoë Müller"
    assert clean_name(decomposed) == unicodedata.normalize("NFC", decomposed)


@pytest.mark.parametrize("blank", ["", " ", "\u3000\u3000", "\t\n"])
def test_clean_name_rejects_empty(blank: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        clean_name(blank)


def test_clean_name_rejects_too_long() -> None:
    with pytest.raises(ValueError, match="at most 64"):
        clean_name("x" * (MAX_NAME_LENGTH + 1))


def test_clean_name_length_counted_after_stripping() -> None:
    assert clean_name("  " + "x" * MAX_NAME_LENGTH + "  ") == "x" * MAX_NAME_LENGTH


@pytest.mark.parametrize(
    "bidi",
    ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"],
)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_clean_name_rejects_bidi(bidi: str, where: str) -> None:
    name = {"start": bidi + "张三", "middle": "张" + bidi + "三", "end": "张三" + bidi}[where]
    with pytest.raises(ValueError, match="bidirectional"):
        clean_name(name)


@pytest.mark.parametrize("control", ["\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9f"])
def test_clean_name_rejects_control_characters(control: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        clean_name("张" + control + "三")


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad", "\u2060"])
def test_clean_name_rejects_invisible_format_characters(invisible: str) -> None:
    with pytest.raises(ValueError, match="invisible"):
        clean_name("张" + invisible + "三")


@pytest.mark.parametrize("separator", ["\u2028", "\u2029"])
def test_clean_name_rejects_line_separators(separator: str) -> None:
    with pytest.raises(ValueError, match="separator"):
        clean_name("张" + separator + "三")


def test_clean_name_error_names_the_character() -> None:
    with pytest.raises(ValueError, match="U\\+202E") as excinfo:
        clean_name("张\u202e三")
    assert "position 2" in str(excinfo.value)


def test_clean_name_rejects_non_string() -> None:
    with pytest.raises(TypeError):
        clean_name(None)  # type: ignore[arg-type]
