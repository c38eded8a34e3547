"""The two tasks: hunt one evidence bundle, survey one shard. Each is an attempt at a work row
of the case store: claimed before it runs (past its attempts the row is failed instead, so a
bundle that kills its workers is not delivered forever), finished with exhunt's exit status,
its verdict or record count, or the tail of its error output."""

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from celery.utils.log import get_task_logger

from .app import app, settings

log = get_task_logger(__name__)

# exhunt hunt's exit statuses that are answers, not failures (README, "Exit status"):
# 0 clean, 1 attempted or compromised, 3 inconclusive. 2 (configuration, unreadable evidence,
# an unreachable store) and 130 (interrupted) are failures worth another attempt.
HUNT_ANSWERS = {0: "clean", 1: "attempted or compromised", 3: "inconclusive"}
TAIL_BYTES = 4096
# What exhunt hunt says (exit 2) of a bundle that holds no Exchange, IIS or Windows evidence.
NO_EVIDENCE = "no Exchange, IIS or Windows evidence found"
STOP_GRACE_SECONDS = 30


def _die_with_parent():
    """Linux: exhunt is killed when the worker process that started it dies, so a lost worker
    leaves no hunt writing on (its delivery goes to another worker)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


class Bounded:
    """The last bytes of a stream, read on a thread: memory bounded whatever exhunt prints."""

    def __init__(self, stream):
        self.chunks = collections.deque()
        self.size = 0
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for chunk in iter(lambda: stream.read(8192), b""):
            self.chunks.append(chunk)
            self.size += len(chunk)
            while self.size - len(self.chunks[0]) >= TAIL_BYTES:
                self.size -= len(self.chunks.popleft())
        stream.close()

    def text(self):
        self.thread.join(timeout=5)
        return b"".join(self.chunks)[-TAIL_BYTES:].decode("utf-8", "replace")


def _environment(case):
    env = dict(os.environ)
    env["EXHUNT_CASE"] = case
    env.pop("EXHUNT_BROKER", None)  # exhunt never needs it
    return env


def _exhunt(args, case, stdin=None):
    """A short exhunt call (claim, finish): its JSON answer."""
    done = subprocess.run([settings.binary, *args], input=stdin, capture_output=True, env=_environment(case), timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"exhunt {args[0]} {args[1]} exited {done.returncode}: {done.stderr.decode('utf-8', 'replace')[-500:]}")
    return json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])


def _run_attempt(args, case):
    """Runs exhunt within the time limit. Returns (exit status or -signal, stdout tail, stderr
    tail, timed out)."""
    process = subprocess.Popen([settings.binary, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=_environment(case), preexec_fn=_die_with_parent)
    out, err = Bounded(process.stdout), Bounded(process.stderr)
    timed_out = False
    try:
        process.wait(timeout=settings.time_limit)
    except subprocess.TimeoutExpired:
        timed_out = True
        # SIGINT first: exhunt writes what it has, marked incomplete, and exits 130.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode, out.text(), err.text(), timed_out


def _worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"


def attempt(task, work, case, case_name, args, answers, describe):
    """One delivery of a work row: claim, run, finish, and retry while attempts remain."""
    case = settings.case or case
    worker = _worker_name()
    row = ["--work", work, "--worker", worker, "--case-name", case_name]
    try:
        claim = _exhunt(["fleet", "claim", *row], case)
    except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as error:
        # The store cannot be reached: not this work's fault, and not an attempt at it.
        log.warning("work %s: cannot claim (%s); delivered again later", work, error)
        raise task.retry(countdown=max(5, settings.retry_delay), max_retries=20)
    if not claim["run"]:
        log.info("work %s not run: %s", work, claim.get("reason"))
        return {"work": work, "state": claim["state"], "reason": claim.get("reason")}
    log.info("work %s attempt %d/%d: exhunt %s", work, claim["attempt"], claim["maxAttempts"], " ".join(args[:2]))
    started = time.monotonic()
    status, out, err, timed_out = _run_attempt(args, case)
    seconds = time.monotonic() - started
    succeeded = not timed_out and status in answers
    # "=": a negative status (killed by a signal) is not an option.
    finish = ["fleet", "finish", *row, f"--exit-status={status}"]
    if succeeded:
        finish += ["--succeeded", "--outcome=" + describe(status, out, err)[:1000]]
        tail = None
    else:
        if timed_out:
            finish.append("--no-retry")
        elif status == 2 and NO_EVIDENCE in err:
            # Another attempt would find nothing either: the bundle fails now.
            finish.append("--no-retry")
            err += f"\nstopped: the time limit of {settings.time_limit} s was reached"
        elif status < 0:
            err += f"\nexhunt was killed by signal {-status} ({signal.Signals(-status).name if -status in signal.valid_signals() else '?'})"
        tail = err.encode("utf-8")[-TAIL_BYTES:]
        finish += ["--error-file", "-"]
    try:
        state = _exhunt(finish, case, stdin=tail)["state"]
    except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as error:
        # The outcome could not be recorded: deliver again (the next claim counts an attempt).
        log.warning("work %s: cannot record the outcome (%s); delivered again later", work, error)
        raise task.retry(countdown=max(5, settings.retry_delay), max_retries=20)
    log.info("work %s: exit %s after %.1f s, %s", work, status, seconds, state)
    if state == "retrying":
        raise task.retry(countdown=settings.retry_delay * (2 ** (claim["attempt"] - 1)), max_retries=None)
    return {"work": work, "state": state, "exit": status, "seconds": round(seconds, 3)}


def _verdicts(status, out, err):
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    return "; ".join(lines[-20:]) or HUNT_ANSWERS.get(status, "")


def _records(status, out, err):
    lines = [line for line in err.splitlines() if "survey record(s)" in line]
    return lines[-1].split(": ", 1)[-1] if lines else "surveyed"


@app.task(bind=True, name="exhunt.hunt", max_retries=None)
def hunt(self, work, case, bundle, case_name="default", host=None, options=()):
    args = ["hunt", bundle, "--quiet", "--no-progress", "-j", str(settings.jobs), "--case-name", case_name]
    if host:
        args += ["--host", host]
    args += list(options)
    return attempt(self, work, case, case_name, args, HUNT_ANSWERS, _verdicts)


@app.task(bind=True, name="exhunt.survey", max_retries=None)
def survey(self, work, case, shard, records, case_name="default", targets=(), input=None, options=()):
    # --resume: a shard delivered again goes on from the records it had written.
    args = ["survey", *targets]
    if input:
        args += ["--input", input]
    args += ["--shard", shard, "-o", records, "--resume", "--no-progress", "--case-name", case_name, *options]
    return attempt(self, work, case, case_name, args, {0: "surveyed"}, _records)
