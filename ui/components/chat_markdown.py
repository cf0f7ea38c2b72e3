"""A model's answer as safe HTML, in blocks: Markdown rendered with markdown-it-py, raw HTML in it shown as
text (the model's words never become tags), fenced code highlighted with Pygments, and every piece cleaned
with nh3 before it reaches the page. NiceGUI's `ui.markdown` renders with markdown2, which passes raw HTML
through, and sanitises in the browser, which keeps a hostile `<img src=x>` an image: hence this.

`blocks` cuts an answer into its top-level blocks, so a streaming answer redraws only the block that grew,
and a top-level code block can carry its own buttons (Copy, Insert at cursor, Replace selection)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

CODE_CLASS: Final = "cl-code"
TAGS: Final = frozenset(
    {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre", "span"}
    | {"blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td"}
)
ATTRIBUTES: Final = {"a": {"href", "title"}, "span": {"class"}, "code": {"class"}, "pre": {"class"}, "ol": {"start"}}
URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})


def clean(html: str) -> str:
    """Only the tags and attributes Markdown makes; links open elsewhere, without the page as their opener."""
    return nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


def highlighted(code: str, language: str) -> str:
    """`code` as Pygments' spans in `<pre class="cl-code"><code>` (plain text for a language it does not know)."""
    try:
        lexer = get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    spans = highlight(code, lexer, HtmlFormatter(nowrap=True))
    return f'<pre class="{CODE_CLASS}"><code>{spans}</code></pre>'


def _markdown() -> MarkdownIt:
    # `html: False`: raw HTML in the text is escaped, shown as the characters it is. No images: a model's
    # answer must not make the browser fetch an address it chose (one way to carry the context elsewhere).
    md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight_nested})
    md.enable(["table", "strikethrough"]).disable("image")
    return md


def _highlight_nested(code: str, language: str, _attrs: object) -> str:
    """Code inside a list or a quote: highlighted in place (it gets no buttons)."""
    return highlighted(code, language.split()[0] if language else "")


MARKDOWN: Final = _markdown()


@dataclass(frozen=True, slots=True)
class Block:
    """One top-level block of an answer: Markdown as clean HTML, or a fenced code block (its code, its
    language and the code highlighted)."""

    kind: Literal["text", "code"]
    html: str
    code: str = ""
    language: str = ""


def blocks(text: str) -> list[Block]:
    """The answer's top-level blocks in order. An unclosed fence (an answer still arriving) runs to the end."""
    env: dict[str, object] = {}
    tokens = MARKDOWN.parse(text, env)
    found: list[Block] = []
    group: list[Token] = []
    for token in tokens:
        if token.level == 0 and token.type == "fence" and not group:
            language = token.info.split()[0] if token.info.strip() else ""
            found.append(Block("code", highlighted(token.content, language), token.content, language))
            continue
        group.append(token)
        if token.level == 0 and token.nesting <= 0:  # a block's end, or a block of one token
            html = MARKDOWN.renderer.render(group, MARKDOWN.options, env)
            found.append(Block("text", clean(html)))
            group = []
    return found


def code_css() -> str:
    """Pygments' colours for highlighted code, light and dark."""
    light = HtmlFormatter(style="default").get_style_defs(f".{CODE_CLASS}")
    dark = HtmlFormatter(style="github-dark").get_style_defs(f".body--dark .{CODE_CLASS}")
    return f"{light}\n{dark}"
