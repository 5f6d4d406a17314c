"""The final word for a task whose message ran out of retries: it fails with ErrorKind.WORKER_LOST
instead of staying queued for ever."""

from __future__ import annotations

import logging
from typing import Any

from dramatiq import Broker, Middleware
from dramatiq.broker import MessageProxy

from contract.error_kinds import ErrorKind
from contract.task_store import TaskStore

logger = logging.getLogger(__name__)


class FailExhaustedTasks(Middleware):
    """When Dramatiq gives up on a message, the task it carried ends `failed` instead of staying queued.

    Add it before Retries: after-hooks run in reverse order, so it then sees the message already failed.
    """

    def __init__(self, store: TaskStore) -> None:
        self.store = store

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        if exception is None or not message.failed or not message.args:
            return
        record = self.store.get(message.args[0])
        if record is None or record.is_final:
            return
        reason = f"gave up after retries: {type(exception).__name__}: {exception}"
        self.store.fail(record, error_type=ErrorKind.WORKER_LOST, error_message=reason)
