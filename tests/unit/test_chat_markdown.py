"""A model's answer as the page gets it: raw HTML as text, no images, no script links, code highlighted and cut
out as blocks of its own, an answer still arriving drawn as far as it goes."""

from __future__ import annotations

from ui.components.chat_markdown import Block, blocks, clean


def html_of(text: str) -> str:
    return "".join(block.html for block in blocks(text))


def test_raw_html_in_an_answer_is_shown_as_text() -> None:
    html = html_of("Look: <img src=x onerror=alert(1)>\n\n<script>alert(2)</script>\n\n<b>bold?</b>")

    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html and "&lt;b&gt;" in html
    assert "<img" not in html and "<script" not in html and "<b>" not in html


def test_images_and_script_links_do_not_reach_the_page() -> None:
    html = html_of(
        "![tracker](https://evil.example/x.png) [click](javascript:alert(1)) [docs](https://docs.python.org)"
    )

    assert "<img" not in html  # the browser fetches nothing the model chose
    assert 'href="javascript' not in html and "[click](javascript:alert(1))" in html  # text, not a link
    assert '<a href="https://docs.python.org" target="_blank" rel="noopener noreferrer nofollow">docs</a>' in html


def test_a_fenced_block_is_a_block_of_its_own_with_its_code_and_language() -> None:
    found = blocks("Try:\n\n```python\nprint('<hi>')\n```\n\nDone.")

    assert [block.kind for block in found] == ["text", "code", "text"]
    code = found[1]
    assert (code.code, code.language) == ("print('<hi>')\n", "python")
    assert '<span class="nb">print</span>' in code.html and "&lt;hi&gt;" in code.html


def test_an_unclosed_fence_runs_to_the_end_of_what_arrived() -> None:
    *_, last = blocks("Here:\n\n```js\nconst x = 1")

    assert last.kind == "code" and last.code == "const x = 1" and last.language == "js"


def test_a_grown_answer_keeps_its_earlier_blocks() -> None:
    before = blocks("First paragraph.\n\nSecond")
    after = blocks("First paragraph.\n\nSecond paragraph, longer.")

    assert before[0] == after[0] and before[1] != after[1]


def test_an_unknown_language_is_plain_text_and_clean_keeps_only_markdowns_tags() -> None:
    [block] = blocks("```brainfudge\n+++<<\n```")
    assert block == Block("code", '<pre class="cl-code"><code>+++&lt;&lt;\n</code></pre>', "+++<<\n", "brainfudge")
    assert clean('<p onclick="x()">a<iframe src="y"></iframe><span class="k" style="color:red">b</span></p>') == (
        '<p>a<span class="k">b</span></p>'
    )
