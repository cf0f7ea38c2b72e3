"""The assistant's panel beside the editor: the person's conversations about the workspace (choose, new,
rename, delete), the messages, and a box to ask in, with the context that goes along as chips (the open
file, the selection, the last run's output and error; each can be left out), quick actions (explain the
selection, fix the last error, write tests for the file) and the model of the conversation.

Answers stream in: the text that arrives is drawn every FLUSH_SECONDS, only the answer's last blocks again.
Stop (or the page going away) cancels the wait for the next piece, which ends the service's answer stream
(it keeps what arrived, marked stopped), and closes it. (`aclose()` alone cannot: the generator is busy
awaiting the provider, and closing a generator that is running raises.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial
from typing import Final
from uuid import UUID

from nicegui import background_tasks, ui

from domain.access import Actor
from domain.assistant import Accepted, AnswerEvent, AskContext, AssistantService, Delta, QuickAction, quick_question
from domain.chat import ChatMessage, Conversation, Role
from domain.errors import CodeloftError
from ui.components.accessible import icon_button
from ui.components.chat_markdown import code_css
from ui.components.chat_messages import AnswerView, CodeActions, QuestionView, draw_messages
from ui.components.dialogs import ask_text, confirm
from ui.components.timer import Timer
from ui.errors import notify_error, notify_errors
from ui.viewer import Viewer

FLUSH_SECONDS: Final = 0.05
"""How often the text that arrived is drawn: a few messages a second to the browser, not one per token."""
WATCH_SECONDS: Final = 0.3
"""How often the chips look at the editor and the run panel again."""
UNTITLED: Final = "New conversation"
CHAT_CSS: Final = """
.cl-chat-md p, .cl-chat-md ul, .cl-chat-md ol, .cl-chat-md pre, .cl-chat-md table { margin: 0.25rem 0; }
.cl-chat-md h1, .cl-chat-md h2, .cl-chat-md h3, .cl-chat-md h4 {
  font-size: 1rem; line-height: 1.4; margin: 0.5rem 0 0.25rem; font-weight: 600;
}
.cl-chat-md table td, .cl-chat-md table th { border: 1px solid #8886; padding: 0 0.4rem; }
.cl-chat-md code, .cl-code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.cl-chat-md :not(pre) > code { background: #8882; border-radius: 3px; padding: 0 3px; }
.cl-code { padding: 0.4rem 0.5rem; overflow-x: auto; white-space: pre; margin: 0; background: #f6f8fa; }
.body--dark .cl-code { background: #161b22; }
.cl-chat-codeblock { border: 1px solid #d0d7de; border-radius: 6px; overflow: hidden; }
.body--dark .cl-chat-codeblock { border-color: #30363d; }
.cl-chat-codebar { background: #eef1f4; }
.body--dark .cl-chat-codebar { background: #21262d; }
.cl-chat-answer .q-message-text, .cl-chat-answer .q-message-container > div { max-width: 100%; min-width: 0; }
.cl-chat-question .q-message-text { color: #e3f2fd; }  /* Quasar paints a bubble and its tail in currentColor */
.cl-chat-answer .q-message-text { color: #f3f4f6; }
.cl-chat-question .q-message-text-content, .cl-chat-answer .q-message-text-content { color: #111827; }
.body--dark .cl-chat-question .q-message-text { color: #1e3a5f; }
.body--dark .cl-chat-answer .q-message-text { color: #2d333b; }
.body--dark .cl-chat-question .q-message-text-content,
.body--dark .cl-chat-answer .q-message-text-content { color: #e6edf3; }
"""
PART_ICONS: Final = {"file": "description", "selection": "highlight_alt", "output": "notes", "error": "error"}


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatHooks:
    """What the panel reads from the rest of the IDE page and does to it."""

    open_file: Callable[[], tuple[str, str] | None]
    """The open text file: its path and text."""
    selected: Callable[[], int]
    """How many characters are selected in it."""
    selected_text: Callable[[], Awaitable[str]]
    last_run: Callable[[], tuple[str, str] | None]
    """The last run's output and error."""
    editable: Callable[[], bool]
    insert: Callable[[str, bool], None]
    """Put code into the open file: at the cursor, or (True) over the selection."""
    close: Callable[[], None]


class ChatPanel:
    def __init__(self, workspace_id: UUID, viewer: Viewer, *, assistant: AssistantService, hooks: ChatHooks) -> None:
        self.workspace_id = workspace_id
        self.viewer = viewer
        self.assistant = assistant
        self.hooks = hooks
        self.conversations: list[Conversation] = []
        self.current: Conversation | None = None
        self._models: dict[UUID, str] = {}  # the model chosen per conversation ("provider/model")
        self._dropped: set[str] = set()  # the chips the person removed, until the next question
        self._chips_shown: tuple[object, ...] = ()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._live: AnswerView | None = None
        self._pending: list[str] = []
        self._actions = CodeActions(
            editable=hooks.editable,
            insert=notify_errors(self._insert),
            replace=notify_errors(self._replace),
        )
        offered = assistant.models()
        self._model_options = {
            f"{provider}/{model}": model if len(offered) == 1 else f"{model} ({assistant.backend(provider).title})"
            for provider, models in offered.items()
            for model in models
        }
        ui.add_css(CHAT_CSS + code_css())
        with ui.column().classes("w-full h-full gap-1 p-1 no-wrap").props('data-testid="chat-panel"') as self.root:
            with ui.row().classes("w-full items-center gap-1 no-wrap shrink-0"):
                self.picker = (
                    ui.select({}, on_change=notify_errors(self._picked))
                    .props('dense outlined options-dense aria-label="Conversation" data-testid="chat-conversation"')
                    .classes("grow basis-0 min-w-0")
                )
                icon_button("add_comment", "New conversation", notify_errors(self.new)).props('data-testid="chat-new"')
                self.rename_button = icon_button("edit", "Rename the conversation", notify_errors(self.rename)).props(
                    'data-testid="chat-rename"'
                )
                self.delete_button = icon_button("delete", "Delete the conversation", notify_errors(self.delete)).props(
                    'data-testid="chat-delete"'
                )
                icon_button("close", "Close the assistant (Ctrl+I)", hooks.close).props('data-testid="chat-close"')
            # Newest at the bottom, kept in view as it grows: a reversed flex column scrolls from its end.
            with ui.element("div").classes("w-full grow min-h-0 overflow-y-auto flex flex-col-reverse"):
                self.log = (
                    ui.column()
                    .classes("w-full gap-2 p-1")
                    .props(
                        'role="log" aria-live="polite" aria-label="Conversation with the assistant" '
                        'data-testid="chat-log"'
                    )
                )
            with ui.column().classes("w-full gap-1 shrink-0"):
                with ui.row().classes("w-full gap-1"):
                    self._quick("Explain selection", "school", QuickAction.EXPLAIN, "chat-explain")
                    self._quick("Fix the last error", "build", QuickAction.FIX, "chat-fix")
                    self._quick("Write tests for this file", "checklist", QuickAction.TESTS, "chat-tests")
                self.chips = ui.row().classes("w-full gap-1 items-center")
                self.chips.props('role="group" aria-label="Context sent with the question" data-testid="chat-chips"')
                self.input = (
                    ui.textarea(placeholder="Ask about your code (Enter sends, Shift+Enter for a new line)")
                    .props('outlined dense autogrow rows=2 aria-label="Question" data-testid="chat-input"')
                    .classes("w-full")
                )
                with ui.row().classes("w-full items-center gap-1 no-wrap"):
                    self.model = (
                        ui.select(self._model_options, on_change=self._model_chosen)
                        .props('dense borderless options-dense aria-label="Model" data-testid="chat-model"')
                        .classes("grow min-w-0 text-xs")
                    )
                    send = notify_errors(self.send)
                    self.send_button = icon_button("send", "Send (Enter)", send, props="dense round")
                    self.send_button.props('color=primary data-testid="chat-send"')
                    self.input.on("keydown.enter.exact.prevent", send)
                    self.stop_button = icon_button("stop", "Stop the answer", self.stop, props="dense round").props(
                        'color=negative data-testid="chat-stop"'
                    )
                    self.stop_button.set_visibility(False)
        self._flusher: Timer | None = None  # only while an answer streams
        self.root.client.on_disconnect(self.stop)  # a page that went away: its answer stops, what came is kept
        Timer(WATCH_SECONDS, self._watch_context)
        if not self._model_options:
            self.input.props("readonly")
            self.send_button.set_enabled(False)
        self._draw_chips()

    # --- conversations ---------------------------------------------------------------------------

    async def load(self) -> None:
        """The person's conversations, the most recent open."""
        self.conversations = await self.assistant.conversations(await self.viewer.actor(), self.workspace_id)
        await self._open(self.conversations[0] if self.conversations else None)

    async def _open(self, conversation: Conversation | None) -> None:
        messages: list[ChatMessage] = []
        if conversation is not None:
            conversation, messages = await self.assistant.get(await self.viewer.actor(), conversation.id)
        self.current = conversation
        self._list_conversations()
        self.model.set_value(self._model_of(conversation, messages))
        self._draw(messages)

    def _list_conversations(self) -> None:
        options = {str(c.id): c.title or UNTITLED for c in self.conversations}
        if self.current is None:
            options = {"": UNTITLED, **options}
        self.picker.set_options(options, value=str(self.current.id) if self.current else "")
        self.rename_button.set_enabled(self.current is not None)
        self.delete_button.set_enabled(self.current is not None)

    def _draw(self, messages: list[ChatMessage]) -> None:
        self.log.clear()
        with self.log:
            if not self._model_options:
                ui.label("No AI provider is configured on this server: ask its operator.").classes(
                    "text-sm text-gray-600 p-2"
                ).props('data-testid="chat-unavailable"')
            elif not messages:
                ui.label(
                    "Ask about your code. The chips below show what goes with your question: remove what should not."
                ).classes("text-sm text-gray-600 p-2").props('data-testid="chat-empty"')
            draw_messages(messages, self._actions, self._retry)

    def redraw(self) -> None:
        """Draw the conversation again (the editor turned read-only: its code blocks offer no Insert)."""
        if self.current is not None and not self.streaming:
            background_tasks.create(self._open(self.current), name="assistant redraw")

    async def _picked(self) -> None:
        chosen = str(self.picker.value or "")
        if chosen == (str(self.current.id) if self.current else ""):
            return
        if self.streaming:  # the answer on its way belongs to this one
            self._list_conversations()
            return
        found = next((c for c in self.conversations if str(c.id) == chosen), None)
        await self._open(found)

    async def new(self) -> None:
        """A new conversation: made when its first question is asked."""
        if self.streaming:
            return
        await self._open(None)
        self.focus()

    async def rename(self) -> None:
        if self.current is None:
            return
        title = await ask_text("Rename the conversation", label="Title", value=self.current.title or "", ok="Rename")
        if title is None:
            return
        renamed = await self.assistant.rename(await self.viewer.actor(), self.current.id, title)
        self.current = renamed
        self.conversations = [renamed if c.id == renamed.id else c for c in self.conversations]
        self._list_conversations()

    async def delete(self) -> None:
        current = self.current
        if current is None or self.streaming:
            return
        if not await confirm("Delete the conversation?", f"{current.title or UNTITLED} and its messages go for good."):
            return
        await self.assistant.delete(await self.viewer.actor(), current.id)
        self.conversations = [c for c in self.conversations if c.id != current.id]
        await self._open(self.conversations[0] if self.conversations else None)

    # --- the model -------------------------------------------------------------------------------

    def _model_of(self, conversation: Conversation | None, messages: list[ChatMessage]) -> str | None:
        """The model chosen for the conversation, else its last answer's, else the default."""
        if conversation is not None and conversation.id in self._models:
            return self._models[conversation.id]
        for message in reversed(messages):
            if message.role is Role.ASSISTANT:
                choice = f"{message.metadata.get('provider')}/{message.metadata.get('model')}"
                if choice in self._model_options:
                    return choice
        return next(iter(self._model_options), None)

    def _model_chosen(self) -> None:
        if self.current is not None and self.model.value:
            self._models[self.current.id] = str(self.model.value)

    # --- context -----------------------------------------------------------------------------------

    def _parts(self) -> dict[str, str]:
        """The context there is to send, by part, with the chip's label."""
        parts = {}
        opened = self.hooks.open_file()
        if opened is not None:
            parts["file"] = opened[0]
            if self.hooks.selected():
                parts["selection"] = f"Selection ({self.hooks.selected():,} characters)"
        run = self.hooks.last_run()
        if run is not None:
            output, error = run
            if output:
                parts["output"] = "Run output"
            if error:
                parts["error"] = "Run error"
        return parts

    def _watch_context(self) -> None:
        if self.chips.is_deleted:
            return
        if (tuple(self._parts().items()), *sorted(self._dropped)) != self._chips_shown:
            self._draw_chips()

    def _draw_chips(self) -> None:
        parts = self._parts()
        self._chips_shown = (tuple(parts.items()), *sorted(self._dropped))
        self.chips.clear()
        with self.chips:
            for part, label in parts.items():
                if part in self._dropped:
                    continue
                chip = ui.chip(label, icon=PART_ICONS[part], removable=True, color="blue-1", text_color="black")
                chip.props(f'dense data-testid="chat-chip-{part}"')
                chip.props["remove-aria-label"] = f"Leave out {label}"
                chip.classes("max-w-full text-xs")
                chip.on_value_change(lambda _, p=part: self._drop(p))

    def _drop(self, part: str) -> None:
        self._dropped.add(part)
        self._draw_chips()

    async def _context(self) -> AskContext:
        """What goes with the question: the chips that are left."""
        parts = [part for part in self._parts() if part not in self._dropped]
        opened = self.hooks.open_file()
        run = self.hooks.last_run() or ("", "")
        return AskContext(
            path=opened[0] if opened and ("file" in parts or "selection" in parts) else None,
            file=opened[1] if opened and "file" in parts else None,
            selection=await self.hooks.selected_text() if "selection" in parts else None,
            output=run[0] if "output" in parts else None,
            error=run[1] if "error" in parts else None,
        )

    # --- asking ------------------------------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        return self._task is not None

    def focus(self) -> None:
        self.input.run_method("focus")

    async def send(self) -> None:
        question = str(self.input.value or "").strip()
        if question:
            await self._ask(question)

    def _quick(self, label: str, icon: str, action: QuickAction, testid: str) -> None:
        ui.button(label, icon=icon, on_click=partial(notify_errors(self._quick_action), action)).props(
            f'flat dense no-caps size=sm data-testid="{testid}"'
        )

    async def _quick_action(self, action: QuickAction) -> None:
        question = quick_question(action, await self._context())  # InvalidInput: what it needs
        await self._ask(question, one_shot=action is QuickAction.EXPLAIN)

    async def _ask(self, question: str, *, one_shot: bool = False) -> None:
        if self.streaming or not self._model_options:
            return
        actor = await self.viewer.actor()
        provider, model = str(self.model.value or next(iter(self._model_options))).split("/", 1)
        context = (await self._context()).checked()
        conversation = self.current or await self._start(actor, f"{provider}/{model}")
        if self.streaming:  # asked twice in a row
            return
        events = self.assistant.ask(
            actor, conversation.id, question, context=context, provider=provider, model=model, one_shot=one_shot
        )
        self._dropped.clear()
        self._draw_chips()
        self._stream(events, retried=None)

    async def _start(self, actor: Actor, model: str) -> Conversation:
        """The conversation a first question starts."""
        conversation = await self.assistant.start(actor, self.workspace_id)
        self.current = conversation
        self.conversations.insert(0, conversation)
        self._models[conversation.id] = model
        self._list_conversations()
        self.log.clear()
        return conversation

    async def _retry(self, message: ChatMessage) -> bool:
        """Ask again after a stopped or failed answer (or none): the new answer comes last."""
        if self.streaming or self.current is None:
            return False
        events = self.assistant.retry(await self.viewer.actor(), self.current.id, message.id)
        self._stream(events, retried=message)
        return True

    def _stream(self, events: AsyncGenerator[AnswerEvent, None], *, retried: ChatMessage | None) -> None:
        self._task = background_tasks.create(self._answer(events, retried=retried), name="assistant answer")
        self._streaming(True)

    async def _answer(self, events: AsyncGenerator[AnswerEvent, None], *, retried: ChatMessage | None) -> None:
        """Draw the answer's events as they come: the question, the text every FLUSH_SECONDS, the end."""
        question: ChatMessage | None = None
        try:
            async with aclosing(events) as stream:
                async for event in stream:
                    if isinstance(event, Accepted):
                        question = event.question
                        self._begin_answer(event, retried)
                    elif isinstance(event, Delta):
                        self._pending.append(event.text)
                    else:
                        self._flush()
                        if self._live is not None and question is not None and not self.log.is_deleted:
                            self._live.finish(event.message, question)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            await self._stopped(question)
        except CodeloftError as error:
            notify_error(error)
        finally:
            self._task = None
            self._stopping = False
            self._live = None
            self._pending.clear()
            self._streaming(False)
        await self._relist()

    def _begin_answer(self, accepted: Accepted, retried: ChatMessage | None) -> None:
        if str(self.input.value or "").strip() == accepted.question.content:
            self.input.set_value("")  # taken: a question refused before this stays in the box
        with self.log:
            if retried is None:
                QuestionView(accepted.question, cuts=accepted.cuts, left_out=accepted.left_out)
            self._live = AnswerView(self._actions, self._retry)

    def _flush(self) -> None:
        if self._pending and self._live is not None and not self.log.is_deleted:
            self._live.grow(self._live.text + "".join(self._pending))
        self._pending.clear()

    def stop(self) -> None:
        """Stop the answer: what arrived stays, marked stopped."""
        if self._task is not None and not self._stopping:
            self._stopping = True
            self._task.cancel()

    async def _stopped(self, question: ChatMessage | None) -> None:
        """After Stop: the answer as the service kept it."""
        self._flush()
        if self.current is None or self.log.is_deleted:
            return
        if question is None or self._live is None:
            await self._open(self.current)
            return
        _, messages = await self.assistant.get(await self.viewer.actor(), self.current.id)
        answer = messages[-1] if messages and messages[-1].role is Role.ASSISTANT else None
        self._live.finish(answer, question)

    def _streaming(self, streaming: bool) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        if streaming:
            with self.root:
                self._flusher = Timer(FLUSH_SECONDS, self._flush)
        if self.log.is_deleted:
            return
        self.send_button.set_visibility(not streaming)
        self.stop_button.set_visibility(streaming)
        self.log.props(f'aria-busy="{"true" if streaming else "false"}"')

    async def _relist(self) -> None:
        """The conversations again: the first question titled this one, and it is the most recent now."""
        if self.log.is_deleted:
            return
        try:
            self.conversations = await self.assistant.conversations(await self.viewer.actor(), self.workspace_id)
        except CodeloftError:
            return  # the person may have lost access meanwhile: the page's access check says so
        if self.current is not None:
            self.current = next((c for c in self.conversations if c.id == self.current.id), self.current)
        self._list_conversations()

    # --- code into the editor ------------------------------------------------------------------------

    async def _insert(self, code: str) -> None:
        self.hooks.insert(code, False)

    async def _replace(self, code: str) -> None:
        if not self.hooks.selected():
            ui.notify("Select the code to replace first.")
            return
        self.hooks.insert(code, True)
