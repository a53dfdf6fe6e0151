"""ChatGPT's export read as drafts: the tree walk, what is kept, what is skipped."""

from __future__ import annotations

from typing import Any

from graphql_api.records import PostStatus
from graphql_api.services.chatgpt import parse_chatgpt_conversation
from graphql_api.services.drafts import current_branch


def message(role: str, text: str | None = None, **extra: Any) -> dict[str, Any]:
    content = extra.pop("content", {"content_type": "text", "parts": [text]})
    return {"author": {"role": role}, "content": content, "create_time": 1_700_000_000, **extra}


def conversation(
    *nodes: tuple[str, dict[str, Any] | None, str | None], **extra: Any
) -> dict[str, Any]:
    mapping: dict[str, dict[str, Any]] = {
        node_id: {"id": node_id, "message": body, "parent": parent, "children": []}
        for node_id, body, parent in nodes
    }
    for node_id, _, parent in nodes:
        if parent is not None:
            mapping[parent]["children"].append(node_id)
    return {"title": "T", "mapping": mapping, **extra}


def test_a_prompt_and_its_answer_make_one_post() -> None:
    parsed = parse_chatgpt_conversation(
        conversation(
            ("root", None, None),
            ("u", message("user", "Hi"), "root"),
            ("a", message("assistant", "Hello", metadata={"model_slug": "gpt-4"}), "u"),
        )
    )
    assert parsed.draft is not None
    [post] = parsed.draft.posts
    assert (post.prompt, post.body, post.model, post.parent) == ("Hi", "Hello", "gpt-4", None)
    assert parsed.notes == []


def test_two_answers_to_one_prompt_are_versions_the_second_replacing_the_first() -> None:
    parsed = parse_chatgpt_conversation(
        conversation(
            ("u", message("user", "Hi"), None),
            ("a1", message("assistant", "One"), "u"),
            ("a2", message("assistant", "Two"), "u"),
            current_node="a1",
        )
    )
    assert parsed.draft is not None
    first, second = parsed.draft.posts
    assert (first.parent, second.parent) == (None, None)
    assert second.replaces == first.key
    assert current_branch(parsed.draft) == {first.key}


def test_assistant_text_after_an_answer_is_added_to_that_answer() -> None:
    parsed = parse_chatgpt_conversation(
        conversation(
            ("u", message("user", "Search"), None),
            ("a1", message("assistant", "Searching."), "u"),
            ("t", message("tool", content={"content_type": "tether_browsing_display"}), "a1"),
            ("a2", message("assistant", "Found it."), "t"),
        )
    )
    assert parsed.draft is not None
    [post] = parsed.draft.posts
    assert post.body == "Searching.\n\nFound it."
    assert [(note.reason, note.detail) for note in parsed.notes] == [
        ("unsupported_message", "tool result (tether_browsing_display)")
    ]


def test_a_prompt_left_without_an_answer_is_kept_as_stopped() -> None:
    parsed = parse_chatgpt_conversation(
        conversation(
            ("u1", message("user", "First"), None),
            ("u2", message("user", "Second"), "u1"),
        )
    )
    assert parsed.draft is not None
    first, second = parsed.draft.posts
    assert (first.prompt, first.body, first.status) == ("First", "", PostStatus.CANCELLED)
    assert (second.prompt, second.parent) == ("Second", first.key)


def test_hidden_messages_and_the_empty_root_are_passed_over_silently() -> None:
    hidden = {"is_visually_hidden_from_conversation": True}
    parsed = parse_chatgpt_conversation(
        conversation(
            ("root", None, None),
            ("ctx", message("user", content={"content_type": "user_editable_context"}), "root"),
            ("s", message("system", "secret", metadata=hidden), "ctx"),
            ("u", message("user", "Hi"), "s"),
            ("a", message("assistant", "Hello"), "u"),
        )
    )
    assert parsed.draft is not None
    assert parsed.draft.instructions is None
    assert parsed.notes == []
    assert len(parsed.draft.posts) == 1


def test_a_cycle_or_a_missing_parent_skips_the_whole_conversation() -> None:
    cyclic = conversation(("u", message("user", "Hi"), None), ("a", message("assistant", "x"), "u"))
    cyclic["mapping"]["a"]["children"] = ["u"]
    orphan = conversation(("u", message("user", "Hi"), None))
    orphan["mapping"]["u"]["parent"] = "gone"
    bad_parts = conversation(("u", message("user", content={"content_type": "text"}), None))
    broken: list[object] = [cyclic, orphan, bad_parts, {"mapping": []}, "not an object"]
    for item in broken:
        parsed = parse_chatgpt_conversation(item)
        assert parsed.draft is None
        assert parsed.notes[-1].whole
        assert parsed.notes[-1].reason in ("malformed_node", "malformed_conversation")


def test_a_deep_conversation_is_walked_without_recursion() -> None:
    nodes: list[tuple[str, dict[str, Any] | None, str | None]] = [("n0", None, None)]
    for number in range(1, 6001):
        role = "user" if number % 2 else "assistant"
        nodes.append((f"n{number}", message(role, f"m{number}"), f"n{number - 1}"))
    parsed = parse_chatgpt_conversation(conversation(*nodes))
    assert parsed.draft is not None
    assert len(parsed.draft.posts) == 3000
    assert len(current_branch(parsed.draft)) == 3000
