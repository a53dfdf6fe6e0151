"""ChatGPT's data export (`conversations.json`) read as drafts of our conversations.

    parsed = parse_chatgpt_conversation(item)     # one element of the file's list
    parsed.draft                                   # None when the conversation is skipped
    parsed.notes                                   # what was left out, and why

A ChatGPT conversation is a tree of messages (`mapping`: node id -> {message, parent,
children}); `current_node` is the leaf shown. Ours is a tree of posts, each a prompt and
its answer. A user message starts a post; the assistant's text answer below it completes it
(several answers to one prompt are versions of one another, as a regeneration makes), and
assistant text that follows an answer without a new prompt is added to that answer. What a
post does not hold is passed over: the empty root, system and hidden messages (a system
message's text becomes the conversation's instructions), and, noted in the report, the kinds
we do not keep (images and other non-text parts, tool calls and their results, the model's
hidden reasoning). A node that is not what the format says (a child that does not exist, a
cycle, a message of the wrong shape) makes the whole conversation skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql_api.records import PostStatus
from graphql_api.services.drafts import (
    DraftConversation,
    DraftPost,
    ImportNote,
    ParsedConversation,
)

TEXT_TYPES = ("text", "multimodal_text")


class Malformed(Exception):
    """A node of the tree is not what the format says."""


def _time(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
        return datetime.fromtimestamp(value, UTC)
    return None


def _title(item: dict[str, Any]) -> str:
    title = item.get("title")
    return title if isinstance(title, str) else ""


@dataclass
class _Place:
    """Where the walk is: the post new posts hang from, a prompt waiting for its answer, and
    the post whose answer more assistant text would extend."""

    parent: str | None = None
    prompt: tuple[str, datetime | None] | None = None
    prompt_key: str | None = None
    answered: str | None = None


class _Walk:
    def __init__(self, item: dict[str, Any]) -> None:
        mapping = item.get("mapping")
        if not isinstance(mapping, dict):
            raise Malformed("mapping is not an object of nodes")
        self.mapping: dict[Any, Any] = mapping
        self.default_model = item.get("default_model_slug")
        self.posts: list[DraftPost] = []
        self.by_key: dict[str, DraftPost] = {}
        self.post_at: dict[str, str] = {}
        self.notes: dict[str, int] = {}
        self.instructions: str | None = None
        # The first answer to each prompt (by the prompt's node): later ones replace it.
        self.first_answer: dict[str, str] = {}
        self.seen: set[str] = set()

    def note(self, kind: str) -> None:
        self.notes[kind] = self.notes.get(kind, 0) + 1

    def node(self, node_id: object) -> dict[str, Any]:
        node = self.mapping.get(node_id) if isinstance(node_id, str) else None
        if not isinstance(node, dict):
            raise Malformed(f"node {str(node_id)[:80]!r} is missing or not an object")
        children = node.get("children", [])
        if not isinstance(children, list) or not all(isinstance(c, str) for c in children):
            raise Malformed(f"node {node_id!r} has children that are not a list of ids")
        return node

    def add_post(self, place: _Place, body: str, model: object, at: datetime | None) -> str:
        prompt, asked_at = place.prompt or ("", None)
        key = f"n{len(self.posts)}"
        post = DraftPost(
            key=key,
            parent=place.parent,
            prompt=prompt,
            body=body,
            model=model if isinstance(model, str) else self.default_model_str(),
            created_at=asked_at or at,
            status=PostStatus.COMPLETE if body or not place.prompt else PostStatus.CANCELLED,
        )
        if place.prompt_key is not None:
            first = self.first_answer.setdefault(place.prompt_key, key)
            if first != key:
                post.replaces = first
        self.posts.append(post)
        self.by_key[key] = post
        return key

    def default_model_str(self) -> str | None:
        return self.default_model if isinstance(self.default_model, str) else None

    def message_text(self, node_id: str, message: dict[str, Any]) -> tuple[str, str] | None:
        """(role, text) of a message a post keeps, or None for one passed over."""
        author = message.get("author")
        role = author.get("role") if isinstance(author, dict) else None
        content = message.get("content")
        if not isinstance(role, str) or not isinstance(content, dict):
            raise Malformed(f"node {node_id!r} has a message without an author or content")
        kind = content.get("content_type")
        metadata = message.get("metadata")
        hidden = isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation")
        if role == "system":
            text = _parts_text(node_id, content, self) if kind in TEXT_TYPES else ""
            if text.strip() and not hidden and self.instructions is None:
                self.instructions = text.strip()
            return None
        if hidden or kind == "user_editable_context":
            return None
        if role == "tool":
            self.note(f"tool result ({kind})")
            return None
        if role not in ("user", "assistant"):
            self.note(f"{role} message")
            return None
        recipient = message.get("recipient", "all")
        if role == "assistant" and recipient not in ("all", None):
            self.note("tool call")
            return None
        if kind not in TEXT_TYPES:
            self.note(f"{role} {kind}")
            return None
        text = _parts_text(node_id, content, self)
        if not text.strip():
            return None
        return role, text

    def walk(self, roots: list[str]) -> None:
        seen = self.seen
        stack: list[tuple[str, _Place]] = [(root, _Place()) for root in reversed(roots)]
        while stack:
            node_id, place = stack.pop()
            if node_id in seen:
                raise Malformed(f"node {node_id!r} is reached twice (a cycle)")
            seen.add(node_id)
            node = self.node(node_id)
            message = node.get("message")
            if message is not None and not isinstance(message, dict):
                raise Malformed(f"node {node_id!r} has a message that is not an object")
            kept = self.message_text(node_id, message) if message else None
            at = _time(message.get("create_time")) if message else None
            if kept is not None:
                role, text = kept
                if role == "user":
                    if place.prompt is not None:  # the previous prompt had no answer
                        unanswered = self.add_post(place, "", None, None)
                        place = _Place(parent=unanswered)
                    place = _Place(parent=place.parent, prompt=(text, at), prompt_key=node_id)
                elif place.prompt is not None:
                    metadata = message.get("metadata") if message else None
                    slug = metadata.get("model_slug") if isinstance(metadata, dict) else None
                    key = self.add_post(place, text, slug, at)
                    place = _Place(parent=key, answered=key)
                elif place.answered is not None:
                    answer = self.by_key[place.answered]
                    answer.body = f"{answer.body}\n\n{text}"
                else:  # an answer with no prompt before it
                    key = self.add_post(place, text, None, at)
                    place = _Place(parent=key, answered=key)
            children = node.get("children", [])
            if not children and place.prompt is not None:
                key = self.add_post(place, "", None, None)
                place = _Place(parent=key)
            if place.parent is not None:
                self.post_at[node_id] = place.parent
            # A fork below an answer: each branch adds to a copy of that answer no more.
            fork = len(children) > 1
            for child in reversed(children):
                branch = _Place(place.parent, place.prompt, place.prompt_key, place.answered)
                if fork:
                    branch.answered = None
                stack.append((child, branch))


def _parts_text(node_id: str, content: dict[str, Any], walk: _Walk) -> str:
    parts = content.get("parts")
    if not isinstance(parts, list):
        raise Malformed(f"node {node_id!r} has text content without a list of parts")
    texts: list[str] = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            walk.note(str(part.get("content_type") or "non-text part"))
        elif part is not None:
            raise Malformed(f"node {node_id!r} has a part that is neither text nor an object")
    return "\n\n".join(text for text in texts if text)


def parse_chatgpt_conversation(item: object) -> ParsedConversation:
    if not isinstance(item, dict):
        return ParsedConversation("", None, [ImportNote("malformed_conversation", "not an object")])
    title = _title(item)
    try:
        walk = _Walk(item)
        roots = [
            node_id
            for node_id, node in walk.mapping.items()
            if not isinstance(node, dict) or node.get("parent") is None
        ]
        for node_id, node in walk.mapping.items():
            parent = node.get("parent") if isinstance(node, dict) else None
            if parent is not None and parent not in walk.mapping:
                raise Malformed(f"node {node_id!r} names a parent that does not exist")
        walk.walk(roots)
        # A node no root reaches: its parent does not list it among its children.
        unreached = next((key for key in walk.mapping if key not in walk.seen), None)
        if unreached is not None:
            raise Malformed(f"node {str(unreached)[:80]!r} is not among its parent's children")
    except Malformed as malformed:
        return ParsedConversation(title, None, [ImportNote("malformed_node", str(malformed))])
    notes = [ImportNote("unsupported_message", kind, count) for kind, count in walk.notes.items()]
    if not walk.posts:
        return ParsedConversation(title, None, [*notes, ImportNote("empty_conversation", "")])
    current = item.get("current_node")
    draft = DraftConversation(
        title=title,
        created_at=_time(item.get("create_time")),
        updated_at=_time(item.get("update_time")),
        posts=walk.posts,
        current=walk.post_at.get(current) if isinstance(current, str) else None,
        instructions=walk.instructions,
        model=walk.default_model_str(),
    )
    return ParsedConversation(title, draft, notes)
