from __future__ import annotations

import re
from datetime import date

import pytest

from app.certificates.pages import render_not_found_page, render_too_many_requests_page, render_verify_page


def _page(**overrides: object) -> str:
    ctx: dict[str, object] = {
        "status": "valid",
        "service_name": "上海市居住证",
        "serial": "JZZ-2026-00012345",
        "holder_name_masked": "张*丰",
        "id_number_masked": "3301**********123X",
        "issued_at": date(2026, 1, 5),
        "expires_at": date(2027, 1, 4),
        "sha256": "ab" * 32,
    }
    ctx.update(overrides)
    return render_verify_page(**ctx)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "word", "hint"),
    [
        ("valid", "有效", "真实有效"),
        ("revoked", "已撤销", "已被签发机关撤销"),
        ("expired", "已过期", "已超过有效期"),
        ("superseded", "已补发", "补发的新证明取代"),
    ],
)
def test_each_status_is_stated_in_words_in_the_banner(status: str, word: str, hint: str) -> None:
    html = _page(status=status)
    banner = re.search(r'<section class="banner (\w+)".*?</section>', html, re.DOTALL)
    assert banner is not None and banner.group(1) == status
    assert f'<div class="word">{word}</div>' in banner.group(0)
    assert hint in banner.group(0)
    assert f"<title>{word}" in html
    # a valid page must not carry the words of another status anywhere
    others = {"有效", "已撤销", "已过期", "已补发"} - {word}
    if status == "valid":
        assert not any(o in html for o in others)


def test_the_page_shows_the_record_with_masked_data_only() -> None:
    html = _page()
    for expected in (
        "上海市居住证",
        "JZZ-2026-00012345",
        "张*丰",
        "3301**********123X",
        "2026年1月5日",
        "2027年1月4日",
        "ab" * 32,
    ):
        assert expected in html
    assert 'lang="zh-CN"' in html and 'name="viewport"' in html


def test_html_metacharacters_in_the_holder_name_are_escaped() -> None:
    html = _page(holder_name_masked='<script>alert("x")</script>&')
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;" in html


def test_a_revoked_page_shows_the_reason_code_label_and_date_only() -> None:
    from datetime import UTC, datetime

    revoked = _page(status="revoked", revocation_reason_code="DATA_CORRECTED",
                    revoked_at=datetime(2026, 2, 1, 3, 0, tzinfo=UTC))
    assert "撤销原因" in revoked and "证明信息已更正" in revoked
    assert "撤销日期" in revoked and "2026年2月1日" in revoked
    assert "撤销原因" not in _page(status="valid", revocation_reason_code="OTHER")


def test_a_superseded_page_names_the_new_serial() -> None:
    html = _page(status="superseded", superseded_by="JZZ-2026-00099999")
    assert "已补发" in html and "JZZ-2026-00099999" in html
    assert "JZZ-2026-00099999" not in _page(status="valid", superseded_by="JZZ-2026-00099999")


def test_the_page_is_in_english_on_request() -> None:
    html = _page(language="en", service_name="Shanghai Residence Permit", status="revoked",
                 revocation_reason_code="LOST")
    assert 'lang="en"' in html
    for expected in ("Revoked", "Shanghai Residence Permit", "Serial number", "Reason for revocation",
                     "The certificate was lost", "5 January 2026", "Upload and check"):
        assert expected in html, expected
    assert not re.search(r"[\u4e00-\u9fff]", html.replace("张*丰", "")), "Chinese words left on the English page"


def test_every_page_offers_a_pdf_upload_form_posting_to_the_verify_endpoint() -> None:
    for html in (_page(), _page(language="en"), render_not_found_page("ABCD")):
        form = re.search(r"<form[^>]*>", html)
        assert form is not None
        assert 'action="/v1/verify"' in form.group(0) and 'method="post"' in form.group(0)
        assert 'enctype="multipart/form-data"' in form.group(0)
        assert re.search(r'<input type="file" name="file"', html)


def test_the_rate_limit_page_says_when_to_come_back() -> None:
    assert "请在 17 秒后刷新本页" in render_too_many_requests_page(retry_after=17)
    english = render_too_many_requests_page(retry_after=17, language="en")
    assert "Reload this page in 17 seconds" in english and 'lang="en"' in english


def test_no_external_resources_are_loaded() -> None:
    for html in (_page(), render_not_found_page("ABCD"), render_too_many_requests_page(retry_after=5)):
        assert not re.search(r"<(script|link|img|iframe)\b", html)
        assert "url(" not in html and "@import" not in html


def test_an_unknown_status_is_a_bug_not_a_page() -> None:
    with pytest.raises(ValueError):
        _page(status="valid-ish")


def test_the_not_found_page_names_the_code_escaped() -> None:
    html = render_not_found_page('<img src=x onerror="1">')
    assert "未找到" in html
    assert "<img" not in html and "&lt;img" in html


def test_dates_are_shown_the_chinese_way_in_shanghai_time() -> None:
    from datetime import UTC, datetime

    from app.certificates.pages import display_date

    assert display_date(date(2026, 1, 5)) == "2026年1月5日"
    assert display_date(datetime(2027, 1, 4, 15, 59, 59, tzinfo=UTC)) == "2027年1月4日"
    assert display_date(datetime(2027, 1, 4, 16, 0, 0, tzinfo=UTC)) == "2027年1月5日"
    assert display_date("2027-01-04T23:59:59+08:00") == "2027年1月4日"
    assert display_date("soon") == "soon"
    html = _page(issued_at="2026-01-05T10:00:00+08:00", expires_at=date(2027, 1, 4))
    assert "2026年1月5日" in html and "2027年1月4日" in html
