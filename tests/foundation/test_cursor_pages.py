"""A page cut at its limit (app.cursor.cut_page): rows are read one longer than the limit to tell whether
another page follows, and the next page starts after the last row shown."""

from __future__ import annotations

from app.cursor import cut_page, decode_cursor


def test_a_page_read_one_longer_than_its_limit_has_a_cursor_at_its_last_row():
    rows = [(1, "a"), (2, "b"), (3, "c")]
    shown, next_cursor = cut_page(rows, 2, lambda row: row)
    assert list(shown) == [(1, "a"), (2, "b")]
    assert next_cursor is not None and decode_cursor(next_cursor, kinds=(int, str)) == (2, "b")


def test_the_last_page_has_no_cursor():
    assert cut_page([(1, "a"), (2, "b")], 2, lambda row: row) == ([(1, "a"), (2, "b")], None)
    assert cut_page([], 2, lambda row: row) == ([], None)
