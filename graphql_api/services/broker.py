"""Signals between API processes: stop an answer, follow one written elsewhere, who is alive.

    broker = make_broker(redis, "chat")     # Redis when REDIS_URL is set, else this process only
    await broker.start(on_stop=writer.stop_local, on_revoke=accounts.revoked.add)
    await broker.request_stop(post_id)      # whichever process writes the answer stops it

With one process everything happens in memory and the broker only says so. With Redis:
- stop and logout go out on a pub/sub channel that every process listens to;
- the process writing an answer mirrors its text into a Redis stream (`<prefix>:post:<id>`), from
  which another process re-attaches: all the text so far, then the rest, with no gap;
- each process keeps a heartbeat key, so an answer left by a process that died is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
HEARTBEAT_TTL = 15
MIRROR_INTERVAL = 0.02
STREAM_TTL_SECONDS = 600
FOLLOW_BLOCK_MS = 2000
RECONNECT_FIRST_SECONDS = 0.1
RECONNECT_MAX_SECONDS = 5.0

StopHandler = Callable[[int], Awaitable[None]]
RevokeHandler = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class MirroredText:
    """A piece of an answer written by another process; `done` once it has ended."""

    text: str
    done: bool = False


class TextSource(Protocol):
    """What the broker needs from an answer in progress to mirror it."""

    @property
    def length(self) -> int: ...

    @property
    def done(self) -> bool: ...

    def text_since(self, offset: int) -> str: ...

    async def wait_beyond(self, offset: int) -> None: ...


class Broker:
    """One API process: nothing to tell anyone."""

    # Whether other API processes share the database (then counts come from it).
    shared = False

    def __init__(self) -> None:
        self.worker_id = secrets.token_hex(8)
        # Whether signals from other processes reach this one (always, with none).
        self.listening = True

    async def start(self, on_stop: StopHandler, on_revoke: RevokeHandler) -> None:
        """Begin listening for other processes' signals."""

    async def close(self) -> None:
        """Stop listening."""

    async def request_stop(self, post_id: int) -> None:
        """Ask the process writing `post_id` to stop (here: nobody else)."""

    async def announce_revocation(self, jti: str, expires_at: float) -> None:
        """Tell other processes a token was revoked (here: nobody else)."""

    async def mirror(self, post_id: int, source: TextSource) -> None:
        """Copy an answer's text where other processes can follow it (here: nowhere)."""

    async def follow(self, post_id: int, offset: int) -> AsyncIterator[MirroredText]:
        """The text another process writes for `post_id`, from `offset` (here: none)."""
        nothing: tuple[MirroredText, ...] = ()
        for piece in nothing:
            yield piece

    async def live_workers(self) -> set[str] | None:
        """The ids of the API processes alive now, or None when they cannot be known."""
        return None


class RedisBroker(Broker):
    shared = True

    def __init__(self, redis: Redis, prefix: str) -> None:
        super().__init__()
        self.redis = redis
        # Every key and channel starts with it: deployments may share one Redis.
        self.prefix = prefix
        self.channel = f"{prefix}:control"
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = False

    def _worker_key(self, worker_id: str) -> str:
        return f"{self.prefix}:worker:{worker_id}"

    async def start(self, on_stop: StopHandler, on_revoke: RevokeHandler) -> None:
        await self.redis.set(self._worker_key(self.worker_id), "1", ex=HEARTBEAT_TTL)
        pubsub = await self._subscribe()
        self._tasks = [
            asyncio.create_task(self._listen(pubsub, on_stop, on_revoke), name="broker-listen"),
            asyncio.create_task(self._heartbeat(), name="broker-heartbeat"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(RedisError):
            await self.redis.delete(self._worker_key(self.worker_id))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._beat()

    async def _beat(self) -> None:
        try:
            await self.redis.set(self._worker_key(self.worker_id), "1", ex=HEARTBEAT_TTL)
        except RedisError:
            log.warning("could not refresh this process's heartbeat in Redis", exc_info=True)

    async def _subscribe(self) -> PubSub:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
        except BaseException:
            await _close(pubsub)
            raise
        self.listening = True
        return pubsub

    async def _listen(
        self, pubsub: PubSub | None, on_stop: StopHandler, on_revoke: RevokeHandler
    ) -> None:
        """Handle other processes' signals for as long as the process runs: a lost
        connection is reopened, waiting longer after each failure (up to a few seconds)."""
        delay = RECONNECT_FIRST_SECONDS
        while True:
            try:
                if pubsub is None:
                    pubsub = await self._subscribe()
                    log.info("listening to the other API processes through Redis again")
                    await self._beat()  # a restarted Redis has forgotten this process
                delay = RECONNECT_FIRST_SECONDS
                async for message in pubsub.listen():
                    await self._handle(message, on_stop, on_revoke)
            except (RedisError, OSError) as exc:
                if self.listening:
                    log.warning(
                        "lost Redis (%s): stops and logouts from other processes are not "
                        "heard until it is back",
                        type(exc).__name__,
                    )
                self.listening = False
            if pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await _close(pubsub)
                pubsub = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    @staticmethod
    async def _handle(
        message: dict[str, Any], on_stop: StopHandler, on_revoke: RevokeHandler
    ) -> None:
        try:
            signal = json.loads(message["data"])
            if "stop" in signal:
                await on_stop(int(signal["stop"]))
            elif "revoke" in signal:
                on_revoke(str(signal["revoke"]), float(signal["exp"]))
        except Exception:
            log.exception("bad control message %r", message.get("data"))

    async def request_stop(self, post_id: int) -> None:
        await self.redis.publish(self.channel, json.dumps({"stop": post_id}))

    async def announce_revocation(self, jti: str, expires_at: float) -> None:
        await self.redis.publish(self.channel, json.dumps({"revoke": jti, "exp": expires_at}))

    async def live_workers(self) -> set[str]:
        pattern = f"{self.prefix}:worker:*"
        keys = [key async for key in self.redis.scan_iter(match=pattern, count=500)]
        return {key.rsplit(":", 1)[1] for key in keys} | {self.worker_id}

    async def mirror(self, post_id: int, source: TextSource) -> None:
        key = f"{self.prefix}:post:{post_id}"
        offset = 0
        try:
            # A stream left from another database's post with the same id must not leak in.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(key)
                pipe.xadd(key, {"t": ""})
                await pipe.execute()
            while True:
                await source.wait_beyond(offset)
                text = source.text_since(offset)
                if text:
                    await self.redis.xadd(key, {"t": text})
                    offset += len(text)
                if source.done and offset >= source.length:
                    await self.redis.xadd(key, {"t": "", "done": "1"})
                    break
                # Batch what arrives meanwhile: one entry per interval, not one per token.
                await asyncio.sleep(MIRROR_INTERVAL)
        except RedisError:
            log.warning("stopped mirroring answer %s to Redis", post_id, exc_info=True)
        finally:
            with contextlib.suppress(RedisError):
                await asyncio.shield(self.redis.expire(key, STREAM_TTL_SECONDS))

    async def follow(self, post_id: int, offset: int) -> AsyncIterator[MirroredText]:
        """All the text mirrored so far as one piece, then each new batch; the text before
        `offset` (which the follower has) is left out. Ends at the answer's end, or when
        nothing comes for a while (no mirror, or its writer died)."""
        key = f"{self.prefix}:post:{post_id}"
        last_id = "0-0"
        seen = 0
        while True:
            reply: Any = await self.redis.xread({key: last_id}, block=FOLLOW_BLOCK_MS, count=1000)
            if not reply:
                return
            entries: list[tuple[str, dict[str, str]]] = reply[0][1]
            last_id = entries[-1][0]
            text = "".join(fields.get("t", "") for _, fields in entries)
            done = any(fields.get("done") for _, fields in entries)
            skip = max(0, min(len(text), offset - seen))
            seen += len(text)
            if text[skip:] or done:
                yield MirroredText(text[skip:], done=done)
            if done:
                return


async def _close(pubsub: PubSub) -> None:
    # redis-py types aclose from 8.2 on; before, it is untyped, and a call of it would be
    # refused: held as a typed callable, it checks under either.
    close: Callable[[], Awaitable[None]] = pubsub.aclose
    await close()


def make_broker(redis: Redis | None, prefix: str) -> Broker:
    return RedisBroker(redis, prefix) if redis is not None else Broker()
