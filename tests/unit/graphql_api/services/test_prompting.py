from __future__ import annotations

import pytest
from tortoise.context import TortoiseContext

from graphql_api.errors import BadUserInput
from graphql_api.models import Conversation, Post, PostStatus
from graphql_api.services.prompting import (
    HISTORY_CHARS,
    OutputFormat,
    OutputOptions,
    build_messages,
    load_history,
    system_message,
)


def test_the_system_message_carries_instructions_and_options() -> None:
    options = OutputOptions(language="Português", format=OutputFormat.BULLETS, max_tokens=40)
    message = system_message("Be helpful.", "Talk like a pirate.", options)
    assert message.startswith("Be helpful.")
    assert "Talk like a pirate." in message
    assert "Answer in Português." in message
    assert "bulleted list" in message
    assert "about 30 words" in message


def test_failed_or_empty_turns_are_left_out_of_the_history() -> None:
    kept = Post(prompt="q1", body="a1", status=PostStatus.COMPLETE)
    failed = Post(prompt="q2", body="", status=PostStatus.FAILED)
    messages = build_messages("S", None, OutputOptions(), [kept, failed], "q3")
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q3"),
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (OutputOptions(temperature=2.5), "temperature"),
        (OutputOptions(max_tokens=0), "maxTokens"),
        (OutputOptions(language="x" * 41), "language"),
        (OutputOptions(language="bad\nname"), "language"),
    ],
)
def test_bad_options_are_bad_user_input(options: OutputOptions, message: str) -> None:
    with pytest.raises(BadUserInput, match=message):
        options.validated()


def test_options_round_trip_through_json() -> None:
    options = OutputOptions(temperature=0.2, format=OutputFormat.JSON)
    assert OutputOptions.from_json(options.to_json()) == options


async def test_the_history_is_bounded_by_size_keeping_the_newest(
    database: TortoiseContext, user_id: int
) -> None:
    conversation = await Conversation.create(user_id=user_id, title="t")
    big = "x" * (HISTORY_CHARS // 3)
    parent = None
    for number in range(5):
        post = await Post.create(
            conversation_id=conversation.id,
            user_id=user_id,
            prompt=f"q{number}",
            body=big,
            parent_id=parent,
        )
        parent = post.id
    history = await load_history(parent)
    assert [post.prompt for post in history] == ["q3", "q4"]


async def test_the_history_is_the_branch_never_a_siblings_text(
    database: TortoiseContext, user_id: int
) -> None:
    conversation = await Conversation.create(user_id=user_id, title="t")

    async def post(prompt: str, parent: Post | None) -> Post:
        return await Post.create(
            conversation_id=conversation.id,
            user_id=user_id,
            prompt=prompt,
            body=f"answer to {prompt}",
            parent_id=parent.id if parent else None,
        )

    root = await post("root", None)
    await post("sibling", root)
    chosen = await post("chosen", root)
    await post("its sibling's child", chosen)
    assert [p.prompt for p in await load_history(chosen.id)] == ["root", "chosen"]
    assert await load_history(None) == []
