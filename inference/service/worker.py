"""One thread that runs the model for every request, so inference never blocks the event loop.

Requests queue up; the thread takes whatever is waiting (up to `max_batch_articles` articles) and
labels it in one call, so concurrent requests share batches. A request past its time limit is
answered 504 by the caller; if the thread has not started on it yet, it is dropped unlabeled.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import dataclass, field

from newsroles.model.article import Article


@dataclass
class _Job:
    articles: list[Article]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    cancelled: threading.Event = field(default_factory=threading.Event)


class LabelWorker:
    """`await worker.label(articles)` from the event loop; the model runs in this worker's thread."""

    def __init__(self, labeler, max_batch_articles: int = 64):
        self.labeler = labeler
        self.max_batch_articles = max_batch_articles
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="newsroles-labeler", daemon=True)
        self._thread.start()

    async def label(self, articles: list[Article], timeout: float | None = None) -> list[Article]:
        """The articles labeled; asyncio.TimeoutError past `timeout` seconds."""
        loop = asyncio.get_running_loop()
        job = _Job(articles, loop, loop.create_future())
        self._queue.put(job)
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            job.cancelled.set()
            raise

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _take_batch(self, first: _Job) -> list[_Job]:
        jobs, n = [first], len(first.articles)
        while n < self.max_batch_articles:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # closing: finish this batch, then stop
                break
            jobs.append(job)
            n += len(job.articles)
        return [job for job in jobs if not job.cancelled.is_set()]

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = self._take_batch(first)
            if not jobs:
                continue
            articles = [a for job in jobs for a in job.articles]
            try:
                self.labeler.label(articles)
                error = None
            except Exception as exc:  # answered as a 500 to every request of the batch, the thread lives on
                error = exc
            for job in jobs:
                job.loop.call_soon_threadsafe(_settle, job.future, job.articles, error)


def _settle(future: asyncio.Future, articles: list[Article], error: Exception | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(articles)
