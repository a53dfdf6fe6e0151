"""Recovery of interrupted answers: those left in flight by a process that is gone, and
those whose end the database would not take when they ended.

    recovery = Recovery(settings, writer, broker)
    await recovery.mark_interrupted(starting=True)    # at start: a predecessor's answers
    asyncio.create_task(recovery.sweep())              # and every SWEEP_SECONDS after
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from graphql_api.models import Post
from graphql_api.records import IN_FLIGHT, PostStatus
from graphql_api.services.answers.writer import INTERRUPTED, AnswerWriter
from graphql_api.services.broker import Broker
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

SWEEP_SECONDS = 15.0


class Recovery:
    def __init__(self, settings: Settings, writer: AnswerWriter, broker: Broker) -> None:
        self.settings = settings
        self.writer = writer
        self.broker = broker
        self._seen_workers: set[str] = set()

    async def mark_interrupted(self, starting: bool = False) -> int:
        """Answers left in flight by processes that are gone become FAILED, text kept.

        With Redis, each process's heartbeat says who is alive, and a process counts as gone
        once it has been missing at two sweeps in a row (a Redis that restarts forgets every
        heartbeat until the next one). Without Redis there is one process: at its start every
        answer in flight belongs to a predecessor; later, an answer counts as abandoned only
        once it has been silent for longer than any live writer could be. This process's own
        answers in flight that it no longer writes are abandoned too, once silent for a sweep.
        """
        live = await self.broker.live_workers()
        if live is not None:
            live, self._seen_workers = live | self._seen_workers, live
        now = datetime.now(UTC)
        query = Post.filter(status__in=IN_FLIGHT)
        if live is None and not starting:
            silent_for = timedelta(seconds=self.settings.llm_request_timeout + SWEEP_SECONDS)
            query = query.filter(updated_at__lt=now - silent_for)
        live = live or {self.broker.worker_id}
        recent = now - timedelta(seconds=SWEEP_SECONDS)
        me = self.broker.worker_id
        orphans = [
            post_id
            for post_id, worker, updated_at in await query.values_list("id", "worker", "updated_at")
            if post_id not in self.writer.running
            and post_id not in self.writer.unsaved
            and (worker not in live or (worker == me and updated_at < recent))
        ]
        if orphans:
            await Post.filter(id__in=orphans, status__in=IN_FLIGHT).update(
                status=PostStatus.FAILED,
                error=INTERRUPTED,
                finish_reason="interrupted",
                updated_at=now,
            )
            log.warning("marked %d interrupted answers as failed", len(orphans))
        return len(orphans)

    async def save_unsaved(self) -> int:
        """Write the end of answers whose final save failed; returns how many."""
        saved = 0
        for post_id, post in list(self.writer.unsaved.items()):
            try:
                await self.writer.save_ending(post, post.body, attempts=1)
            except Exception as exc:
                log.warning("still cannot save the end of answer %s: %s", post_id, exc)
                continue
            del self.writer.unsaved[post_id]
            saved += 1
        return saved

    async def sweep(self) -> None:
        """For as long as the process runs: write what could not be written, and settle
        answers left in flight by processes that died meanwhile."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.save_unsaved()
                await self.mark_interrupted()
            except Exception:
                log.warning("could not sweep interrupted answers", exc_info=True)
