"""One reader of task events per api process, fanning them out to every stream that follows a task.

A stream holds no Redis connection and no OS thread while it waits: it waits on its own queue (under
Gunicorn's gevent workers a queue wait is a parked greenlet). The hub learns that a task has new events from
the Pub/Sub message every event write publishes (contract/events.py), then reads those tasks' streams in one
command and hands each follower what it has not had yet. Pub/Sub delivers at most once (a reconnect loses
messages), so every few seconds the hub also reads every followed stream: a missed notice delays an event by
that much at worst, and never loses it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

import redis

from contract import events
from contract.names import EVENTS_CHANNEL

from ..http.background import BackgroundLoop

SWEEP_SECONDS = 2.0
KEYS_PER_READ = 500
PAGE = 500  # entries per stream per read (events.read_many's count)
Event = tuple[str, dict[str, Any]]


class KeyStreamsFull(Exception):
    """The key already follows as many streams in this process as one key may (MAX_OPEN_STREAMS_PER_KEY)."""


class StreamsFull(Exception):
    """This process follows as many streams as it may (MAX_OPEN_STREAMS)."""


class Inbox(Protocol):
    def put(self, item: Event) -> None: ...


class Subscription:
    """One follower of one task: the events after `after`, in order, each once, put in its own inbox (or in
    one it is given, which a follower of several tasks shares between them)."""

    def __init__(self, task_id: str, after: str, inbox: Inbox | None = None, owner: str = "") -> None:
        self.task_id = task_id
        self.after = after
        self.owner = owner
        self.inbox: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.sink: Inbox = inbox or self.inbox

    def next(self, timeout: float) -> Event | None:
        try:
            return self.inbox.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def deliver(self, entries: Iterable[Event], start: str) -> None:
        """Called under the hub's lock, so two reads of the same stream never deliver an event twice. A read
        that started after this follower's position lacks what lies between: the follower's own read (or
        the next one) brings it, so this one is not taken, or the gap would be skipped for good."""
        if events.id_order(self.after) < events.id_order(start):
            return
        for event_id, event in entries:
            if events.id_order(event_id) > events.id_order(self.after):
                self.after = event_id
                self.sink.put((event_id, event))


class EventHub:
    def __init__(self, client: redis.Redis, capacity: int, per_owner: int | None = None) -> None:
        self.client = client
        self.capacity = capacity
        self.per_owner = per_owner or capacity
        """streams one owner (an API key) may follow here: one key cannot take every place"""
        self.lock = threading.Lock()
        self.followers: dict[str, set[Subscription]] = {}
        self.count = 0
        self.owners: Counter[str] = Counter()
        self.swept = time.monotonic()
        # The listener starts with the first follower, in the serving process (threads do not survive a fork).
        self.listener = BackgroundLoop("event-hub", self._listen, pause=0.5)

    def subscribe(self, task_id: str, after: str, inbox: Inbox | None = None, owner: str = "") -> Subscription:
        """Follow a task from `after`; what is already there arrives at once. Raises StreamsFull, or
        KeyStreamsFull when `owner` follows all it may."""
        subscription = Subscription(task_id, after, inbox, owner)
        with self.lock:
            if self.full:
                raise StreamsFull
            if self.owners[owner] >= self.per_owner:
                raise KeyStreamsFull
            self.followers.setdefault(task_id, set()).add(subscription)
            self.count += 1
            self.owners[owner] += 1
            self.listener.ensure_running()
        try:
            self.read([task_id])  # the backlog, in the caller's greenlet: later events come by notice
        except redis.RedisError:
            self.unsubscribe(subscription)
            raise
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self.lock:
            found = self.followers.get(subscription.task_id)
            if found is None or subscription not in found:
                return
            found.discard(subscription)
            self.count -= 1
            self.owners[subscription.owner] -= 1
            if not self.owners[subscription.owner]:
                del self.owners[subscription.owner]
            if not found:
                del self.followers[subscription.task_id]

    @property
    def full(self) -> bool:
        return self.count >= self.capacity

    def has_room(self, wanted: int) -> bool:
        return self.count + wanted <= self.capacity

    def owner_has_room(self, owner: str, wanted: int) -> bool:
        return self.owners[owner] + wanted <= self.per_owner

    def read(self, task_ids: Iterable[str]) -> None:
        """Reads the given tasks' new events, a few hundred streams a command, and delivers them."""
        with self.lock:
            positions = {task: self._oldest(task) for task in task_ids if task in self.followers}
        keys = list(positions)
        for start in range(0, len(keys), KEYS_PER_READ):
            chunk = {task: positions[task] for task in keys[start : start + KEYS_PER_READ]}
            while chunk:
                found = events.read_many(self.client, chunk, count=PAGE)
                with self.lock:
                    for task, entries in found.items():
                        for subscription in list(self.followers.get(task, ())):
                            subscription.deliver(entries, chunk[task])
                # A stream with a full page may have more: read on from its last entry.
                chunk = {task: entries[-1][0] for task, entries in found.items() if len(entries) >= PAGE}

    def _oldest(self, task_id: str) -> str:
        return min((s.after for s in self.followers[task_id]), key=events.id_order)

    def _listen(self) -> None:
        """Subscribes and serves notices until Redis fails; the loop then starts it again."""
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(EVENTS_CHANNEL)
            self._serve(pubsub)
        finally:
            pubsub.close()

    def _serve(self, pubsub: Any) -> None:
        while True:
            noticed: set[str] = set()
            message = pubsub.get_message(timeout=SWEEP_SECONDS)
            while message is not None:  # drain what is already there: one read for many notices
                noticed.add(message["data"])
                message = pubsub.get_message(timeout=0)
            if time.monotonic() - self.swept >= SWEEP_SECONDS:
                with self.lock:
                    noticed = set(self.followers)
                self.swept = time.monotonic()
            if noticed:
                self.read(noticed)
