"""python3 -m exhunt_celery worker | enqueue | depth

  worker   a Celery worker for exhunt's queue: EXHUNT_SLOTS tasks at once, each exhunt with
           -j EXHUNT_JOBS (both from the machine's cores by default; see app.py)
  enqueue  JSON Lines on standard input, {"id", "task", "kwargs"} per line, sent with the
           line's id as the task id (what `exhunt fleet submit` and `exhunt fleet survey` call)
  depth    messages waiting in the queue and delivered but not acknowledged, as JSON
"""

import argparse
import json
import socket
import sys

from .app import app, settings


def enqueue(queue):
    sent = 0
    for number, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
            task, task_id, kwargs = message["task"], message["id"], message["kwargs"]
        except (ValueError, KeyError, TypeError) as error:
            raise SystemExit(f"line {number}: not a work message ({error})")
        if task not in ("exhunt.hunt", "exhunt.survey"):
            raise SystemExit(f"line {number}: unknown task {task!r}")
        app.send_task(task, kwargs=kwargs, task_id=task_id, queue=queue)
        sent += 1
    print(json.dumps({"queued": sent}))


def depth(queue):
    with app.connection_for_read() as connection:
        client = connection.default_channel.client
        # kombu's Redis transport: a list per queue (and per priority step), and a hash of
        # delivered, unacknowledged messages.
        waiting = sum(client.llen(name) for name in client.scan_iter(match=f"{queue}*") if client.type(name) == b"list")
        unacked = client.hlen("unacked")
    print(json.dumps({"queue": queue, "waiting": waiting, "unacknowledged": unacked}))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="exhunt-celery", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="run a worker")
    worker.add_argument("--hostname", default=f"exhunt@{socket.gethostname()}", help="the worker's node name")
    worker.add_argument("--loglevel", default="INFO")
    for name in ("enqueue", "depth"):
        commands.add_parser(name).add_argument("--queue", default=settings.queue)
    args = parser.parse_args(argv)
    if not settings.broker:
        raise SystemExit("set EXHUNT_BROKER to the broker's URL (redis://host:6379/0)")
    if args.command == "enqueue":
        enqueue(args.queue)
    elif args.command == "depth":
        depth(args.queue)
    else:
        app.worker_main(["worker", f"--concurrency={settings.slots}", "--prefetch-multiplier=1", "-Q", settings.queue,
                         "-n", args.hostname, f"--loglevel={args.loglevel}", "--without-gossip", "--without-mingle"])


if __name__ == "__main__":
    main()
