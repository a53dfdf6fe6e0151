"""Export (`GET /api/export`) and import (`importConversations`, `POST /api/import`)."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.standins import VLLMStandin
from tests.support import Account, ApiServer, GatewayProcess, start_api

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "chatgpt_conversations.json"
IMPORT = (
    "mutation($file: Upload!) { importConversations(file: $file) { format "
    "imported { id title postCount } "
    "skipped { index title reason detail count conversationSkipped } } }"
)
BRANCH = (
    "query($id: ID!) { conversation(id: $id) { title instructions "
    "posts { edges { node { id prompt body model createdAt siblingIds parentId } } } } }"
)
LIST = "{ conversations(first: 100) { edges { node { id title } } } }"
EDIT = "mutation($id: ID!, $p: String!) { editPrompt(postId: $id, prompt: $p) { id } }"
STATUSES = "query($id: ID!) { conversation(id: $id) { posts { edges { node { id status } } } } }"


def bearer(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.token}"}


async def upload(
    api: ApiServer, account: Account | None, data: bytes, name: str = "conversations.json"
) -> httpx.Response:
    """importConversations as a GraphQL multipart request (the multipart request spec)."""
    operations = {"query": IMPORT, "variables": {"file": None}}
    return await api.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, data, "application/json")},
        headers=bearer(account) if account else {},
    )


async def import_report(api: ApiServer, account: Account, data: bytes) -> dict[str, Any]:
    response = await upload(api, account, data)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    report: dict[str, Any] = body["data"]["importConversations"]
    return report


async def import_error(api: ApiServer, account: Account, data: bytes) -> dict[str, Any]:
    response = await upload(api, account, data)
    body = response.json()
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


async def conversation_titles(api: ApiServer, account: Account) -> list[str]:
    data = await api.ok(LIST, token=account.token)
    return [edge["node"]["title"] for edge in data["conversations"]["edges"]]


async def export(api: ApiServer, account: Account, **params: str) -> httpx.Response:
    return await api.http.get("/api/export", params=params, headers=bearer(account))


async def test_import_of_a_chatgpt_export_gives_the_expected_report(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    report = await import_report(api, alice, FIXTURE.read_bytes())
    assert report["format"] == "chatgpt"
    assert [(item["title"], item["postCount"]) for item in report["imported"]] == [
        ("Trip to Lisbon", 4),
        ("Picture question", 2),
    ]
    skipped = {(item["index"], item["reason"], item["detail"]) for item in report["skipped"]}
    assert skipped == {
        (1, "unsupported_message", "image_asset_pointer"),
        (1, "unsupported_message", "tool call"),
        (1, "unsupported_message", "tool result (execution_output)"),
        (2, "empty_conversation", ""),
        (3, "malformed_node", "node 'vanished-node' is missing or not an object"),
    }
    whole = {item["index"] for item in report["skipped"] if item["conversationSkipped"]}
    assert whole == {2, 3}
    # Nothing half-imported: the broken and the empty conversations are not there at all.
    assert sorted(await conversation_titles(api, alice)) == ["Picture question", "Trip to Lisbon"]

    trip = (await api.ok(BRANCH, {"id": report["imported"][0]["id"]}, token=alice.token))[
        "conversation"
    ]
    posts = [edge["node"] for edge in trip["posts"]["edges"]]
    # The branch ChatGPT showed (its current node): the regenerated answer, then day 2.
    assert [(post["prompt"], post["body"], post["model"]) for post in posts] == [
        ("Plan a trip to Lisbon", "Day 1: Belém, then Alfama.", "gpt-4o"),
        ("And day 2?", "Day 2: Sintra.", "gpt-4o-mini"),
    ]
    # The first answer and the edited prompt are versions beside it.
    assert len(posts[0]["siblingIds"]) == 3
    assert posts[1]["parentId"] == posts[0]["id"]
    assert posts[0]["createdAt"].startswith("2023-11-14T22:13:30")

    picture = (await api.ok(BRANCH, {"id": report["imported"][1]["id"]}, token=alice.token))[
        "conversation"
    ]
    assert picture["instructions"] == "Answer in one sentence."
    assert [
        (edge["node"]["prompt"], edge["node"]["body"]) for edge in picture["posts"]["edges"]
    ] == [("What is in this image?", "A cat."), ("Compute 2 + 2 with code", "The result is 4.")]


async def test_import_through_post_api_import_takes_the_raw_file_or_a_multipart_form(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    raw = await api.http.post("/api/import", content=FIXTURE.read_bytes(), headers=bearer(alice))
    assert raw.status_code == 200, raw.text
    assert len(raw.json()["imported"]) == 2
    form = await api.http.post(
        "/api/import",
        files={"file": ("conversations.json", FIXTURE.read_bytes(), "application/json")},
        headers=bearer(alice),
    )
    assert form.status_code == 200, form.text
    assert len(await conversation_titles(api, alice)) == 4
    # ChatGPT's export as downloaded: a zip holding conversations.json.
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("export/conversations.json", FIXTURE.read_bytes())
        archive.writestr("export/chat.html", "<html></html>")
    zipped = await api.http.post("/api/import", content=packed.getvalue(), headers=bearer(alice))
    assert zipped.status_code == 200, zipped.text
    assert zipped.json()["format"] == "chatgpt"


async def test_an_import_needs_a_login_and_a_cross_site_form_cannot_post_one(
    api: ApiServer,
) -> None:
    response = await api.http.post("/api/import", content=FIXTURE.read_bytes())
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # A multipart GraphQL request without the Authorization header is what a form on another
    # site can send: refused before it is read, whatever operation it carries; so is one
    # whose token is not valid.
    forged = await upload(api, None, FIXTURE.read_bytes())
    assert forged.status_code == 401
    assert "log in" in forged.text
    stranger = Account(id="0", username="nobody", token="not-a-token")
    assert (await upload(api, stranger, FIXTURE.read_bytes())).status_code == 401


async def test_oversized_uploads_are_refused_and_nothing_is_written(
    database_url: str, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url, llm_gateway_url=gateway.url, import_max_bytes=4096
    ) as small:
        alice = await small.new_user()
        error = await import_error(small, alice, FIXTURE.read_bytes())
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["reason"] == "import_too_large"
        assert error["extensions"]["max"] == 4096
        raw = await small.http.post(
            "/api/import", content=FIXTURE.read_bytes(), headers=bearer(alice)
        )
        assert raw.status_code == 400
        assert raw.json()["errors"][0]["extensions"]["reason"] == "import_too_large"
        # Far past the limit, the body is refused before it is read.
        huge = await small.http.post(
            "/api/import", content=b"[" + b" " * (2 << 20) + b"]", headers=bearer(alice)
        )
        assert huge.status_code == 413
        # A small zip that unpacks past the limit (a zip bomb) is refused as well.
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("conversations.json", "[" + " " * 200_000 + "]")
        assert len(packed.getvalue()) < 4096
        bomb = await small.http.post(
            "/api/import", content=packed.getvalue(), headers=bearer(alice)
        )
        assert bomb.json()["errors"][0]["extensions"]["reason"] == "import_too_large"
        assert await conversation_titles(small, alice) == []


async def test_over_the_conversation_or_post_limits_nothing_is_written(
    database_url: str, gateway: GatewayProcess
) -> None:
    async with start_api(
        database_url=database_url,
        llm_gateway_url=gateway.url,
        import_max_conversations=3,
        import_max_posts_per_conversation=3,
    ) as limited:
        alice = await limited.new_user()
        error = await import_error(limited, alice, FIXTURE.read_bytes())
        assert error["extensions"]["reason"] == "too_many_conversations"
        assert error["extensions"]["limit"] == 3
        two = json.dumps(json.loads(FIXTURE.read_bytes())[:2]).encode()
        error = await import_error(limited, alice, two)
        # The second conversation is within the limit; the first has 4 posts.
        assert error["extensions"]["reason"] == "too_many_posts"
        assert "Trip to Lisbon" in error["message"]
        assert await conversation_titles(limited, alice) == []


async def test_malformed_uploads_are_refused_saying_what_is_wrong(api: ApiServer) -> None:
    alice = await api.new_user()
    cases = {
        b"this is not json": "import_not_json",
        b"\xff\xfe\x00garbage": "import_not_json",
        b"[" * 100_000 + b"]" * 100_000: "import_not_json",
        b'{"hello": "world"}': "import_unknown_format",
        b'[{"title": "no mapping"}]': "import_unknown_format",
        b'{"format_version": 99, "conversations": []}': "import_format_version",
        b'{"format_version": 1, "conversations": {}}': "import_unknown_format",
        b"PK\x03\x04 not really a zip": "import_not_json",
    }
    for data, reason in cases.items():
        error = await import_error(api, alice, data)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (data[:20], error)
        assert error["extensions"]["reason"] == reason, (data[:20], error)
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("notes.txt", "hello")
    error = await import_error(api, alice, packed.getvalue())
    assert error["extensions"]["reason"] == "import_unknown_format"
    assert await conversation_titles(api, alice) == []


async def test_our_own_malformed_conversation_is_skipped_and_the_others_imported(
    api: ApiServer,
) -> None:
    alice = await api.new_user()
    document = {
        "format_version": 1,
        "conversations": [
            {"title": "Fine", "posts": [{"id": "1", "parent": None, "prompt": "a", "body": "b"}]},
            {"title": "Bad parent", "posts": [{"id": "1", "parent": "7", "prompt": "a"}]},
            {"title": "Nothing", "posts": []},
        ],
    }
    report = await import_report(api, alice, json.dumps(document).encode())
    assert [item["title"] for item in report["imported"]] == ["Fine"]
    assert [(item["index"], item["reason"]) for item in report["skipped"]] == [
        (1, "malformed_node"),
        (2, "empty_conversation"),
    ]
    assert "parent" in report["skipped"][0]["detail"]


async def branched_conversation(api: ApiServer, account: Account) -> str:
    """A conversation with two versions of its first prompt, the second current."""
    first = await api.send_prompt(account, "first prompt")
    conversation_id: str = first["conversationId"]
    await api.send_prompt(account, "follow-up", conversation_id)
    edited = await api.ok(
        EDIT, {"id": first["id"], "p": "another first prompt"}, token=account.token
    )
    for _ in range(200):
        data = await api.ok(STATUSES, {"id": conversation_id}, token=account.token)
        node = data["conversation"]["posts"]["edges"][0]["node"]
        if node["id"] == edited["editPrompt"]["id"] and node["status"] == "COMPLETE":
            return conversation_id
        await asyncio.sleep(0.05)
    raise AssertionError("the edited prompt was not answered")


async def test_export_json_holds_every_branch_and_its_format_version(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    conversation_id = await branched_conversation(api, alice)
    response = await export(api, alice, format="json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["format_version"] == 1
    [conversation] = document["conversations"]
    assert conversation["id"] == conversation_id
    prompts = [(post["prompt"], post["parent"]) for post in conversation["posts"]]
    root = conversation["posts"][0]["id"]
    assert prompts == [("first prompt", None), ("follow-up", root), ("another first prompt", None)]
    assert conversation["current_post"] == conversation["posts"][2]["id"]
    assert conversation["posts"][0]["body"] == "Echo: first prompt"
    assert conversation["posts"][0]["model"] == "standin-model"
    one = await export(api, alice, format="json", conversation=conversation_id)
    assert one.json()["conversations"] == document["conversations"]


async def test_export_markdown_is_one_file_per_conversation_in_a_zip(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice = await api.new_user()
    conversation_id = await branched_conversation(api, alice)
    await api.send_prompt(alice, "a second conversation")
    one = await export(api, alice, format="markdown", conversation=conversation_id)
    assert one.headers["content-type"].startswith("text/markdown")
    text = one.text
    assert text.startswith("# first prompt\n")  # its title, from the first prompt
    # The current branch only.
    assert "## You\n\nanother first prompt\n" in text
    assert "follow-up" not in text
    assert "## Assistant (standin-model)" in text
    every = await export(api, alice, format="markdown")
    assert every.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(every.content)) as archive:
        names = archive.namelist()
        assert len(names) == 2
        assert all(name.endswith(".md") for name in names)
        assert any("a second conversation" in archive.read(name).decode() for name in names)


async def test_export_of_another_users_conversation_is_not_found_and_needs_a_login(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice, mallory = await api.new_user(), await api.new_user("mallory")
    conversation_id = (await api.send_prompt(alice, "alice's secret"))["conversationId"]
    for params in ({"format": "json"}, {"format": "markdown"}):
        stolen = await export(api, mallory, conversation=conversation_id, **params)
        assert stolen.status_code == 404
        assert "secret" not in stolen.text
    everything = await export(api, mallory, format="json")
    assert everything.json()["conversations"] == []
    assert "alice's secret" not in everything.text
    anonymous = await api.http.get("/api/export", params={"format": "json"})
    assert anonymous.status_code == 401
    wrong = await export(api, alice, format="pdf")
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["extensions"]["reason"] == "export_format"


def _tree(conversation: dict[str, Any]) -> dict[str, Any]:
    """A conversation without its ids: each post as its path of texts from the root."""
    by_id = {post["id"]: post for post in conversation["posts"]}

    def path(post_id: str | None) -> tuple[tuple[str, str], ...]:
        steps: list[tuple[str, str]] = []
        while post_id is not None:
            post = by_id[post_id]
            steps.append((post["prompt"], post["body"]))
            post_id = post["parent"]
        return tuple(reversed(steps))

    return {
        "title": conversation["title"],
        "instructions": conversation["instructions"],
        "posts": sorted(path(post["id"]) for post in conversation["posts"]),
        "models": sorted(str(post["model"]) for post in conversation["posts"]),
        "current": path(conversation["current_post"]),
        "created_at": conversation["created_at"][:19],
    }


async def test_export_then_import_into_another_account_gives_the_same_conversations(
    api: ApiServer, model: VLLMStandin
) -> None:
    alice, bob = await api.new_user(), await api.new_user()
    await branched_conversation(api, alice)
    await api.send_prompt(alice, "plain one")
    await import_report(api, alice, FIXTURE.read_bytes())  # with ChatGPT's branches too
    exported = (await export(api, alice, format="json")).content
    report = await import_report(api, bob, exported)
    assert report["format"] == "chat"
    assert len(report["imported"]) == 4
    assert report["skipped"] == []
    again = (await export(api, bob, format="json")).json()
    original = json.loads(exported)
    assert sorted(map(str, map(_tree, again["conversations"]))) == sorted(
        map(str, map(_tree, original["conversations"]))
    )
    # The file named alice's ids: bob's import made rows of his own and left hers alone.
    assert {item["id"] for item in report["imported"]}.isdisjoint(
        conversation["id"] for conversation in original["conversations"]
    )
    after = (await export(api, alice, format="json")).json()
    assert after["conversations"] == original["conversations"]


async def test_imported_text_keeps_what_it_can_and_drops_options_it_would_refuse(
    api: ApiServer,
) -> None:
    alice = await api.new_user()
    document = {
        "format_version": 1,
        "conversations": [
            {
                "title": "odd\u0000 title",
                "posts": [
                    {
                        "id": "1",
                        "parent": None,
                        "prompt": "nul\u0000 and \ud800 surrogate",
                        "body": "fine",
                        "options": {"temperature": "very hot", "unknown": 1},
                    },
                    {
                        "id": "2",
                        "parent": "1",
                        "prompt": "kept options",
                        "body": "fine",
                        "options": {"temperature": 0.5, "format": "markdown"},
                        "status": "streaming",
                    },
                ],
            }
        ],
    }
    raw = json.dumps(document).encode()  # NUL and the lone surrogate, escaped
    report = await import_report(api, alice, raw)
    [made] = report["imported"]
    exported = (await export(api, alice, format="json", conversation=made["id"])).json()
    [conversation] = exported["conversations"]
    assert conversation["title"] == "odd\ufffd title"
    first, second = conversation["posts"]
    assert first["prompt"] == "nul\ufffd and \ufffd surrogate"
    assert first["options"] is None
    assert second["options"] == {"temperature": 0.5, "format": "markdown"}
    # An answer being written when it was exported is not left "streaming" for ever.
    assert second["status"] == "failed"
    assert second["finish_reason"] == "interrupted"


async def test_an_upload_arriving_in_one_read_with_its_headers_is_not_taken_for_huge_headers(
    api: ApiServer,
) -> None:
    """The header-size guard counts only what comes before the blank line ending the
    headers: a large body sent in the same write must reach the route."""
    alice = await api.new_user()
    body = json.dumps({"format_version": 1, "conversations": [], "pad": "x" * 600_000}).encode()
    host, port = api.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /api/import HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {alice.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    writer.write(head + body)
    await writer.drain()
    status = (await reader.readline()).decode()
    writer.close()
    assert status.startswith("HTTP/1.1 200"), status
