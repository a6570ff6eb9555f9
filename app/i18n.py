"""Bilingual text: Chinese first (the default), English on request (`Accept-Language: en`)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import NamedTuple


class Text(NamedTuple):
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


language_var: ContextVar[str] = ContextVar("language", default="zh")


def choose_language(accept_language: str | None) -> str:
    """The first of zh/en the caller prefers; Chinese when they name neither."""
    if not accept_language:
        return "zh"
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh") or tag == "*":
            return "zh"
    return "zh"


def localize(text: Text | str) -> str:
    if isinstance(text, str):
        return text
    return text.en if language_var.get() == "en" else text.zh
