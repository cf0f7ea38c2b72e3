"""The messages of a conversation with the assistant, as `ui.chat_message`s: a question with the context
that went with it (and what of it was cut), an answer as safe Markdown that can grow while it streams
(only its last block is drawn again), its code blocks with Copy, Insert at cursor and Replace selection,
and under it the model, the tokens and the time it took, or why it stopped or failed, with Retry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from nicegui import ui

from domain.assistant import Cut
from domain.chat import AnswerStatus, ChatMessage, Role
from ui.components.accessible import icon_button
from ui.components.chat_markdown import Block, blocks, clean

PART_NAMES = {
    "file": "the file",
    "selection": "the selection",
    "output": "the run's output",
    "error": "the run's error",
}


@dataclass(frozen=True, slots=True)
class CodeActions:
    """What an answer's code blocks can do to the editor: offered only while `editable()` says so."""

    editable: Callable[[], bool]
    insert: Callable[[str], Awaitable[None]]
    replace: Callable[[str], Awaitable[None]]


def cut_note(cuts: Sequence[Cut], left_out: int = 0) -> str:
    """What did not fit the model's window, in words ("" if everything did)."""
    parts = [f"{PART_NAMES.get(cut.part, cut.part)} ({cut.kept:,} of {cut.total:,} characters sent)" for cut in cuts]
    if left_out:
        parts.append(f"{left_out} earlier message{'s' if left_out != 1 else ''}")
    return f"Cut to fit the model: {', '.join(parts)}." if parts else ""


def stored_cuts(question: ChatMessage) -> list[Cut]:
    """The cuts a stored question remembers."""
    found = question.metadata.get("cut")
    if not isinstance(found, list):
        return []
    return [Cut(str(c["part"]), int(c["kept"]), int(c["total"])) for c in found if isinstance(c, dict)]


def context_note(question: ChatMessage) -> str:
    """What went with a question: "With main.py, the selection"."""
    context = question.metadata.get("context")
    if not isinstance(context, dict):
        return ""
    names = [
        f"{context['path']}" if part == "file" and context.get("path") else PART_NAMES[part]
        for part in PART_NAMES
        if context.get(part)
    ]
    return f"With {', '.join(names)}" if names else ""


def usage_note(message: ChatMessage) -> str:
    """An answer's model, tokens and time: "llama3.2 · 120 in, 48 out tokens · 1.4 s"."""
    meta = message.metadata
    parts = [str(meta.get("model") or "")]
    tokens_in, tokens_out = meta.get("tokens_in"), meta.get("tokens_out")
    if tokens_in is not None or tokens_out is not None:
        parts.append(
            f"{tokens_in if tokens_in is not None else '?'} in, "
            f"{tokens_out if tokens_out is not None else '?'} out tokens"
        )
    if meta.get("cached"):
        parts.append("from the cache")
    else:
        parts.append(f"{int(meta.get('latency_ms') or 0) / 1000:.1f} s")
        if meta.get("key") == "own":
            parts.append("your key")
    return " · ".join(part for part in parts if part)


class QuestionView:
    def __init__(self, question: ChatMessage, *, cuts: Sequence[Cut] = (), left_out: int = 0) -> None:
        with (
            ui.chat_message(name="You", sent=True).classes("cl-chat-question").props('data-testid="chat-question"'),
            ui.column().classes("gap-1"),  # one bubble: Quasar draws one for each child
        ):
            ui.label(question.content).classes("whitespace-pre-wrap break-words")
            with_what = context_note(question)
            if with_what:
                ui.label(with_what).classes("text-xs text-gray-600").props('data-testid="chat-context-used"')
            note = cut_note(cuts or stored_cuts(question), left_out)
            if note:
                ui.label(note).classes("text-xs text-orange-700").props('data-testid="chat-cut"')


class CodeBlock:
    """A fenced code block of an answer with its buttons; `code` follows the block while it streams."""

    def __init__(self, block: Block, actions: CodeActions) -> None:
        self.code = block.code
        with ui.element("div").classes("cl-chat-codeblock w-full").props('data-testid="chat-code"') as self.element:
            with ui.row().classes("w-full items-center gap-1 no-wrap px-2 cl-chat-codebar"):
                self.language = ui.label(block.language or "code").classes("text-xs grow text-gray-600")
                copy = icon_button("content_copy", "Copy the code").props('data-testid="chat-copy"')
                if actions.editable():
                    icon_button("input", "Insert at cursor", lambda: actions.insert(self.code)).props(
                        'data-testid="chat-insert"'
                    )
                    icon_button("find_replace", "Replace selection", lambda: actions.replace(self.code)).props(
                        'data-testid="chat-replace"'
                    )
            self.html = ui.html(block.html, sanitize=clean).classes("w-full")
        # Copied in the browser from the text shown: the code never goes into a script.
        copy.on(
            "click",
            lambda: ui.notify("Copied"),
            js_handler=f"() => {{ navigator.clipboard?.writeText(document.getElementById('c{self.html.id}').innerText);"
            " emit(); }",
        )

    def show(self, block: Block) -> None:
        self.code = block.code
        self.language.set_text(block.language or "code")
        self.html.set_content(block.html)


class AnswerBody:
    """An answer's text as its blocks: a grown answer draws its changed blocks again, the others stay."""

    def __init__(self, actions: CodeActions) -> None:
        self.actions = actions
        self.column = ui.column().classes("w-full gap-1 min-w-0")
        self._drawn: list[tuple[Block, ui.html | CodeBlock]] = []

    def show(self, text: str) -> None:
        new = blocks(text)
        for index, block in enumerate(new):
            if index < len(self._drawn):
                old, view = self._drawn[index]
                if old == block:
                    continue
                if old.kind == block.kind:
                    if isinstance(view, CodeBlock):
                        view.show(block)
                    else:
                        view.set_content(block.html)
                    self._drawn[index] = (block, view)
                    continue
                self._drop_from(index)
            with self.column:
                self._drawn.append((block, self._draw(block)))
        self._drop_from(len(new))

    def _draw(self, block: Block) -> ui.html | CodeBlock:
        if block.kind == "code":
            return CodeBlock(block, self.actions)
        return ui.html(block.html, sanitize=clean).classes("nicegui-markdown cl-chat-md w-full")

    def _drop_from(self, index: int) -> None:
        for _, view in self._drawn[index:]:
            (view.element if isinstance(view, CodeBlock) else view).delete()
        del self._drawn[index:]


Retry = Callable[[ChatMessage], Awaitable[bool]]
"""Ask again after this answer (or this question); False: not now (another answer is on its way)."""


class AnswerView:
    """One answer: streaming (`grow`), then finished with its usage, or why it stopped or failed (`finish`)."""

    def __init__(self, actions: CodeActions, on_retry: Retry) -> None:
        self._on_retry = on_retry
        self.text = ""
        with (
            ui.chat_message(name="Assistant").classes("cl-chat-answer w-full").props('data-testid="chat-answer"'),
            ui.column().classes("w-full gap-1 min-w-0"),  # one bubble: Quasar draws one for each child
        ):
            self.body = AnswerBody(actions)
            with ui.row().classes("w-full items-center gap-x-2 gap-y-0 text-xs text-gray-600") as self.footer:
                ui.spinner(size="1em").props('aria-hidden="true"')
                ui.label("Answering…").props('data-testid="chat-answering"')

    def grow(self, text: str) -> None:
        self.text = text
        self.body.show(text)

    def finish(self, answer: ChatMessage | None, question: ChatMessage, *, can_retry: bool = True) -> None:
        """The answer as stored; None: none was (the question is kept). A stopped or failed answer, or a
        question left without one, says so and offers Retry."""
        if answer is not None and answer.content != self.text:
            self.grow(answer.content)
        status = answer.status if answer is not None else None
        self.footer.clear()
        with self.footer:
            if answer is not None:
                ui.label(usage_note(answer)).props('data-testid="chat-usage"')
            if status is AnswerStatus.STOPPED:
                self._mark("Stopped: what arrived is kept.", "chat-stopped")
            elif status is AnswerStatus.FAILED:
                self._mark(f"Failed: {answer.error if answer and answer.error else 'no answer came'}", "chat-failed")
            elif answer is None:
                self._mark("No answer.", "chat-failed")
            if status is not AnswerStatus.COMPLETE and can_retry:
                retry = ui.button("Retry", icon="refresh").props('flat dense no-caps data-testid="chat-retry"')
                retry.on_click(partial(self._retry, retry, answer or question))

    async def _retry(self, button: ui.button, message: ChatMessage) -> None:
        if await self._on_retry(message):
            button.delete()  # the new answer comes below this one

    def _mark(self, text: str, testid: str) -> None:
        ui.label(text).classes("text-orange-700 font-medium").props(f'data-testid="{testid}"')


def draw_messages(messages: Sequence[ChatMessage], actions: CodeActions, on_retry: Retry) -> None:
    """A stored conversation: each question, then its answers; the last answer to a question that stopped
    or failed, or a question left without one, offers Retry."""
    question: ChatMessage | None = None
    for index, message in enumerate(messages):
        following = messages[index + 1] if index + 1 < len(messages) else None
        last = following is None or following.role is not Role.ASSISTANT
        if message.role is Role.USER:
            question = message
            QuestionView(message)
            if last:
                AnswerView(actions, on_retry).finish(None, message)
        elif question is not None:
            AnswerView(actions, on_retry).finish(message, question, can_retry=last)
