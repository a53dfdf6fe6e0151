"""Encoding a response: `json` (the standard library) against orjson, in the same run.

    .venv/bin/python bench/bench_json_encoding.py [--quick]

The response is a page of 50 posts of a realistic size (about 85 KB), as
`conversation { posts(last: 50) }` returns it. Prints microseconds per response and the ratio;
the API encodes with orjson (graphql_api/schema/view.py) because of it.
"""

from __future__ import annotations

import argparse
import json
import timeit

import orjson


def page_of_posts() -> dict[str, object]:
    post = {
        "id": "123",
        "prompt": "Olá, what is the capital of France? " * 5,
        "body": "The capital of France is **Paris**, on the Seine. " * 30,
        "status": "COMPLETE",
        "createdAt": "2026-12-02T19:03:13.123456+00:00",
        "parentId": "122",
        "siblingIds": ["123", "130"],
        "siblingIndex": 0,
    }
    edges = [{"cursor": "cG9zdDoxMjM=", "node": post} for _ in range(50)]
    page = {"edges": edges, "pageInfo": {"hasPreviousPage": True, "startCursor": "cG9zdDo="}}
    return {"data": {"conversation": {"currentPostId": "173", "posts": page}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: that it runs")
    args = parser.parse_args()
    rounds = 20 if args.quick else 2_000
    data = page_of_posts()
    assert json.loads(orjson.dumps(data)) == data
    standard = timeit.timeit(lambda: json.dumps(data, separators=(",", ":")), number=rounds)
    fast = timeit.timeit(lambda: orjson.dumps(data).decode(), number=rounds)
    size = len(orjson.dumps(data))
    print(f"a page of 50 posts, {size:,} bytes, {rounds:,} rounds each")
    print(f"json   {standard / rounds * 1e6:8.0f} us per response")
    print(f"orjson {fast / rounds * 1e6:8.0f} us per response")
    print(f"orjson is {standard / fast:.1f}x faster")


if __name__ == "__main__":
    main()
