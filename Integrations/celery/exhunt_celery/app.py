"""The Celery application: broker, delivery guarantees and limits, all from the environment so
that workers on many machines are configured alike.

Environment:
  EXHUNT_BROKER              redis://[:password@]host[:port]/db (rediss:// for TLS); required
  EXHUNT_QUEUE               queue name (default: exhunt)
  EXHUNT_BINARY              the exhunt executable (default: exhunt on PATH)
  EXHUNT_CASE                the case store the worker writes to; overrides the task's (which is
                             sent without its password), so credentials stay off the broker
  EXHUNT_SLOTS               tasks at once per worker (default: cores // 2, at least 1)
  EXHUNT_JOBS                -j of each exhunt (default: cores // slots, at least 1)
  EXHUNT_TIME_LIMIT          seconds one attempt may run before it is stopped (default: 21600)
  EXHUNT_VISIBILITY_TIMEOUT  seconds before a delivery whose worker was lost is delivered
                             again (default: the time limit plus 15 minutes; it must exceed the
                             longest attempt, or a running task is delivered a second time)
  EXHUNT_RETRY_DELAY         seconds before the first retry of a failed attempt (default: 30;
                             doubled per attempt)
"""

import os
from dataclasses import dataclass

from celery import Celery


def _int(name, default, minimum=1):
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}")
    return max(minimum, value)


@dataclass(frozen=True)
class Settings:
    broker: str
    queue: str
    binary: str
    case: str
    slots: int
    jobs: int
    time_limit: int
    visibility_timeout: int
    retry_delay: int

    @classmethod
    def from_environment(cls):
        cores = os.cpu_count() or 1
        slots = _int("EXHUNT_SLOTS", max(1, cores // 2))
        time_limit = _int("EXHUNT_TIME_LIMIT", 6 * 3600)
        return cls(
            broker=os.environ.get("EXHUNT_BROKER", ""),
            queue=os.environ.get("EXHUNT_QUEUE", "") or "exhunt",
            binary=os.environ.get("EXHUNT_BINARY", "") or "exhunt",
            case=os.environ.get("EXHUNT_CASE", ""),
            slots=slots,
            jobs=_int("EXHUNT_JOBS", max(1, cores // slots)),
            time_limit=time_limit,
            visibility_timeout=_int("EXHUNT_VISIBILITY_TIMEOUT", time_limit + 900),
            retry_delay=_int("EXHUNT_RETRY_DELAY", 30, minimum=0),
        )


settings = Settings.from_environment()

app = Celery("exhunt", broker=settings.broker or None, include=["exhunt_celery.tasks"])
app.conf.update(
    # JSON only: a pickled message from whoever reaches the broker would be code run on the worker.
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    # Results live in the case store; Celery's own result backend would be a second copy.
    task_ignore_result=True,
    task_default_queue=settings.queue,
    # At least once: acknowledged when the attempt ends, one message reserved per slot, and a
    # task whose pool process dies is handed back at once; a worker lost whole (SIGKILL, its
    # machine gone) has its message delivered again after the visibility timeout.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_transport_options={"visibility_timeout": settings.visibility_timeout},
    # Celery's hard limit is the backstop; the task stops exhunt itself first, gently.
    task_time_limit=settings.time_limit + 120,
    worker_concurrency=settings.slots,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=True,
    task_send_sent_event=True,
)
