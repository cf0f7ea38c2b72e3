"""The assistant's panel in the IDE under NiceGUI's user simulation, over the real services and the local fake
providers (OpenAI's protocol through the real openai SDK): ask with the open file as context and see the
answer with its model and tokens, a hostile answer as text, code blocks with Insert for editors only, a cut
stream marked with Retry, Stop keeping what arrived, quick actions saying what they need, chips removed from
the context, conversations renamed, deleted and new (and nobody else's shown), a refusing provider as a
message, and the pane remembered open."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from nicegui import ElementFilter, app, ui
from nicegui.testing.user import User

from domain.entities import Workspace
from tests.ai_providers import ANSWER, ChatScript, FakeProviders, fake_providers
from tests.pages.simulated import Person, add_person, find_testid, sign_in, until, with_testid
from ui.components.chat_messages import AnswerBody
from ui.components.code_editor import CodeEditor

PROGRAM = "print('hello')\n"
FENCED = ("Use this:\n\n", "```python\n", "print('fixed')\n", "```\n")


@pytest.fixture(autouse=True)
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    """Set before the `user` fixture starts the app, whose settings read these variables."""
    with fake_providers() as fake:
        for name, value in fake.chat_settings().items():
            monkeypatch.setenv(name, value)
        yield fake


async def ide(user: User, person: Person, *, text: str = PROGRAM) -> Workspace:
    workspace = await person.services.workspaces.create(person.actor, name="Chatty", language="python")
    await person.services.files.write(person.actor, workspace.id, "main.py", text.encode(), if_match=None)
    await user.open(f"/w/{workspace.id}")
    await user.should_see("Chatty")
    return workspace


async def open_assistant(user: User) -> None:
    find_testid(user, "toggle-assistant").click()
    await until(lambda: bool(with_testid(user, "chat-panel")), "the assistant's panel")
    await until(lambda: bool(with_testid(user, "chat-empty") or with_testid(user, "chat-answer")), "its conversation")


def texts(user: User, testid: str) -> list[str]:
    with user:
        return [str(getattr(e, "text", "")) for e in with_testid(user, testid)]


def answer_html(user: User) -> str:
    """The HTML of the answers' blocks, as the page gets it."""
    with user:
        found = ElementFilter(kind=ui.html, local_scope=False)
        return "".join(
            e.content for e in found if any(a.props.get("data-testid") == "chat-answer" for a in e.ancestors())
        )


async def ask(user: User, question: str) -> None:
    find_testid(user, "chat-input").type(question)
    find_testid(user, "chat-send").click()


async def answered(user: User, count: int = 1) -> None:
    await until(lambda: len(with_testid(user, "chat-usage")) >= count and not with_testid(user, "chat-stop"), "answer")


def sent_prompt(providers: FakeProviders) -> str:
    """The last question as the provider got it (context and all)."""
    return str(providers.chats()[-1].body["messages"][-1]["content"])


async def test_an_answer_streams_in_with_its_model_and_the_open_file_as_context(
    user: User, providers: FakeProviders
) -> None:
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)
    assert texts(user, "chat-chip-file") == ["main.py"]

    await ask(user, "What does this print?")
    await answered(user)

    assert "".join(ANSWER) in answer_html(user)
    [usage] = texts(user, "chat-usage")
    assert re.fullmatch(r"gpt-4o-mini · \d+ in, 5 out tokens · \d+\.\d s", usage), usage
    assert texts(user, "chat-context-used") == ["With main.py"]
    assert PROGRAM in sent_prompt(providers) and "What does this print?" in sent_prompt(providers)
    picker = find_testid(user, "chat-conversation").elements.pop()
    assert picker.options[picker.value] == "What does this print?"  # type: ignore[attr-defined]
    assert find_testid(user, "chat-input").elements.pop().value == ""  # type: ignore[attr-defined]


async def test_a_hostile_answer_is_text_not_html(user: User, providers: FakeProviders) -> None:
    providers.chat = ChatScript(tokens=("<img src=x onerror=alert(1)>", " <script>alert(2)</script>"))
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)

    await ask(user, "Say something nasty")
    await answered(user)

    html = answer_html(user)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;" in html
    assert "<img" not in html and "<script" not in html


async def test_a_code_block_can_be_inserted_at_the_cursor(
    user: User, providers: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    providers.chat = ChatScript(tokens=FENCED)
    inserted: list[tuple[str, bool]] = []  # what the browser's editor is told (the browser tests see it done)
    monkeypatch.setattr(
        CodeEditor, "insert", lambda _, text, *, replace_selection=False: inserted.append((text, replace_selection))
    )
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)
    await ask(user, "Fix it")
    await answered(user)

    assert 'class="nb"' in answer_html(user)  # highlighted: `print` is a builtin
    find_testid(user, "chat-copy")
    find_testid(user, "chat-insert").click()
    await until(lambda: bool(inserted), "insert")
    assert inserted == [("print('fixed')\n", False)]

    find_testid(user, "chat-replace").click()
    await user.should_see("Select the code to replace first.")  # nothing is selected
    assert len(inserted) == 1


async def test_a_reader_may_ask_but_gets_no_insert(user: User, providers: FakeProviders) -> None:
    providers.chat = ChatScript(tokens=FENCED)
    ada = await add_person("ada@example.com")
    await sign_in(user, "bob@example.com")
    workspace = await ada.services.workspaces.create(ada.actor, name="Read it", language="python")
    await ada.services.sharing.invite(ada.actor, workspace.id, email="bob@example.com", permission="read")
    await user.open(f"/w/{workspace.id}")
    await user.should_see("read only")
    await open_assistant(user)

    await ask(user, "What is this?")
    await answered(user)

    find_testid(user, "chat-copy")
    assert not with_testid(user, "chat-insert") and not with_testid(user, "chat-replace")


async def test_a_cut_stream_keeps_the_partial_answer_marked_and_retry_answers(
    user: User, providers: FakeProviders
) -> None:
    providers.chat = ChatScript(cut_after=2)
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)
    await ask(user, "Tell me")
    await until(lambda: bool(with_testid(user, "chat-failed")), "the failure")

    assert "Hello from" in answer_html(user) and "model." not in answer_html(user)
    [failed] = texts(user, "chat-failed")
    assert failed.startswith("Failed: ") and "in the middle of the answer" in failed

    providers.chat = ChatScript()
    find_testid(user, "chat-retry").click()
    await until(lambda: len(with_testid(user, "chat-answer")) == 2 and not with_testid(user, "chat-stop"), "retry")
    assert "".join(ANSWER) in answer_html(user)
    assert len(with_testid(user, "chat-question")) == 1  # the same question, answered again
    assert not with_testid(user, "chat-retry")


async def test_stop_keeps_what_arrived_marked_stopped(user: User, providers: FakeProviders) -> None:
    providers.chat = ChatScript(delay=0.4)
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)
    await ask(user, "Take your time")
    await until(lambda: "Hello" in answer_html(user), "the first piece")

    find_testid(user, "chat-stop").click()

    await until(lambda: bool(with_testid(user, "chat-stopped")), "stopped")
    assert "Hello" in answer_html(user) and "model." not in answer_html(user)
    find_testid(user, "chat-retry")
    find_testid(user, "chat-send")  # ready for the next question
    conversation = (await ada.services.assistant.conversations(ada.actor, (await workspace_of(ada)).id))[0]
    _, messages = await ada.services.assistant.get(ada.actor, conversation.id)
    assert messages[-1].status is not None and messages[-1].status.value == "stopped"
    assert messages[-1].content.startswith("Hello")


async def workspace_of(person: Person) -> Workspace:
    [workspace] = await person.services.workspaces.list_accessible(person.actor)
    return workspace


async def test_quick_actions_say_what_they_need(user: User, providers: FakeProviders) -> None:
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)

    find_testid(user, "chat-explain").click()
    await user.should_see("Select the code to explain first.")
    find_testid(user, "chat-fix").click()
    await user.should_see("There is no error to fix: the last run did not fail.")
    assert not providers.chats()

    find_testid(user, "chat-tests").click()
    await answered(user)
    assert "Write unit tests for `main.py`" in sent_prompt(providers)


async def test_a_removed_chip_leaves_its_part_out(user: User, providers: FakeProviders) -> None:
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)

    with user:
        [chip] = with_testid(user, "chat-chip-file")
        chip.set_value(False)  # its remove button
    await until(lambda: not with_testid(user, "chat-chip-file"), "the chip gone")
    await ask(user, "Without the file")
    await answered(user)

    assert PROGRAM not in sent_prompt(providers)
    assert not with_testid(user, "chat-context-used")
    assert texts(user, "chat-chip-file") == ["main.py"]  # back for the next question


async def test_what_did_not_fit_is_said(user: User, providers: FakeProviders) -> None:
    ada = await sign_in(user)
    await ide(user, ada, text="x = 1\n" * 25_000)  # 150,000 characters: more than the model's window
    await open_assistant(user)

    await ask(user, "Too long?")
    await answered(user)

    [cut] = texts(user, "chat-cut")
    assert re.fullmatch(r"Cut to fit the model: the file \([\d,]+ of 150,000 characters sent\)\.", cut), cut


async def test_conversations_are_renamed_deleted_and_new_ones_started(user: User, providers: FakeProviders) -> None:
    ada = await sign_in(user)
    workspace = await ide(user, ada)
    await open_assistant(user)
    await ask(user, "First question")
    await answered(user)

    find_testid(user, "chat-rename").click()
    await until(lambda: bool(with_testid(user, "dialog-input")), "the rename dialog")
    find_testid(user, "dialog-input").clear().type("Renamed")
    find_testid(user, "dialog-ok").click()
    await until(lambda: options(user) == ["Renamed"], "the new title")

    find_testid(user, "chat-new").click()
    await until(lambda: bool(with_testid(user, "chat-empty")), "an empty conversation")
    await ask(user, "Second question")
    await answered(user)
    await until(lambda: options(user) == ["Second question", "Renamed"], "the new conversation listed first")

    find_testid(user, "chat-delete").click()
    await until(lambda: bool(with_testid(user, "confirm-ok")), "the delete dialog")
    find_testid(user, "confirm-ok").click()
    await until(lambda: options(user) == ["Renamed"], "the other conversation")
    await user.should_see("First question")  # its messages
    await user.should_not_see("Second question")
    [left] = await ada.services.assistant.conversations(ada.actor, workspace.id)
    assert left.title == "Renamed"


def options(user: User) -> list[str]:
    picker = find_testid(user, "chat-conversation").elements.pop()
    return list(picker.options.values())  # type: ignore[attr-defined]


async def test_the_assistant_stays_open_for_the_person_and_workspace(user: User, providers: FakeProviders) -> None:
    ada = await sign_in(user)
    workspace = await ide(user, ada)
    await open_assistant(user)
    key = f"workbench:{ada.account.id}:{workspace.id}"
    await until(lambda: app.storage.general.get(key, {}).get("assistant_open") is True, "the state kept", 6)

    await user.open(f"/w/{workspace.id}")

    await until(lambda: bool(with_testid(user, "chat-panel")), "the assistant open again")
    find_testid(user, "toggle-assistant").click()
    await until(lambda: not with_testid(user, "chat-panel"), "the assistant closed")
    await until(lambda: app.storage.general.get(key, {}).get("assistant_open") is False, "the state kept", 6)


async def test_a_refusing_provider_is_a_message_in_the_conversation(user: User, providers: FakeProviders) -> None:
    providers.chat = ChatScript(status=429)
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)

    await ask(user, "Anyone there?")

    await until(lambda: bool(with_testid(user, "chat-failed")), "the failure")
    [failed] = texts(user, "chat-failed")
    assert failed.startswith("Failed: ") and "Traceback" not in failed
    find_testid(user, "chat-retry")


async def test_another_persons_conversations_stay_theirs(user: User, providers: FakeProviders) -> None:
    ada = await add_person("ada@example.com")
    await sign_in(user, "bob@example.com")
    workspace = await ada.services.workspaces.create(ada.actor, name="Together", language="python")
    conversation = await ada.services.assistant.start(ada.actor, workspace.id, "Ada's own thoughts")
    await ada.services.sharing.invite(ada.actor, workspace.id, email="bob@example.com", permission="write")

    await user.open(f"/w/{workspace.id}")
    await open_assistant(user)

    assert options(user) == ["New conversation"]
    await user.should_not_see(conversation.title or "")


async def test_a_person_lowered_to_read_loses_insert_but_keeps_the_conversation(
    user: User, providers: FakeProviders
) -> None:
    providers.chat = ChatScript(tokens=FENCED)
    ada = await add_person("ada@example.com")
    await sign_in(user, "bob@example.com")
    workspace = await ada.services.workspaces.create(ada.actor, name="Lent", language="python")
    share = await ada.services.sharing.invite(ada.actor, workspace.id, email="bob@example.com", permission="write")
    await user.open(f"/w/{workspace.id}")
    await open_assistant(user)
    await ask(user, "How?")
    await answered(user)
    find_testid(user, "chat-insert")

    await ada.services.sharing.change(ada.actor, workspace.id, share.share.id, permission="read")

    await until(lambda: not with_testid(user, "chat-insert"), "Insert gone", seconds=15)
    await user.should_see("read only")
    find_testid(user, "chat-copy")  # the answer is still there
    assert not with_testid(user, "chat-replace")


async def test_the_model_is_chosen_per_conversation(user: User, providers: FakeProviders) -> None:
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)
    model = find_testid(user, "chat-model").elements.pop()
    assert list(model.options.values())[:2] == ["gpt-4o-mini (OpenAI)", "gpt-4o (OpenAI)"]  # type: ignore[attr-defined]
    assert "llama3.2 (The OpenAI-compatible server)" in model.options.values()  # type: ignore[attr-defined]

    with user:
        model.set_value("compatible/llama3.2")  # type: ignore[attr-defined]
    await ask(user, "Ask the local model")
    await answered(user)
    assert providers.chats()[-1].path == "/compatible/v1/chat/completions"
    assert providers.chats()[-1].body["model"] == "llama3.2"
    assert texts(user, "chat-usage")[0].startswith("llama3.2 · ")

    find_testid(user, "chat-new").click()
    await until(lambda: bool(with_testid(user, "chat-empty")), "an empty conversation")
    assert model.value == "openai/gpt-4o-mini"  # type: ignore[attr-defined]  # a new one starts on the default
    picker: Any = find_testid(user, "chat-conversation").elements.pop()
    with user:
        picker.set_value(next(key for key, title in picker.options.items() if title == "Ask the local model"))
    await until(lambda: model.value == "compatible/llama3.2", "the conversation's model")  # type: ignore[attr-defined]


async def test_a_quick_stream_is_drawn_in_batches_not_per_token(
    user: User, providers: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = tuple(f"t{n} " for n in range(80))
    providers.chat = ChatScript(tokens=tokens, delay=0.005)
    drawn: list[str] = []
    show = AnswerBody.show
    monkeypatch.setattr(AnswerBody, "show", lambda body, text: (drawn.append(text), show(body, text))[1])
    ada = await sign_in(user)
    await ide(user, ada)
    await open_assistant(user)

    await ask(user, "Many small pieces")
    await answered(user)

    assert drawn[-1] == "".join(tokens)
    assert len(drawn) < len(tokens) / 3, len(drawn)  # every 50 ms, whatever came meanwhile


async def test_earlier_messages_left_out_are_counted(user: User, providers: FakeProviders) -> None:
    ada = await sign_in(user)
    await ide(user, ada, text="y = 2\n" * 16_000)  # 96,000 characters: fits once, not twice
    await open_assistant(user)
    await ask(user, "First look")
    await answered(user)
    assert not with_testid(user, "chat-cut")

    await ask(user, "Second look")
    await answered(user, 2)

    assert texts(user, "chat-cut") == ["Cut to fit the model: 2 earlier messages."]
