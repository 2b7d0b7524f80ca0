"""The poll service and the bare endpoint under gunicorn (gthread) and granian, side by side.

    .venv/bin/python -m bench.servers [--duration 15] [--threads 8]

Each server runs one worker process with the app on ``--threads`` threads:
gunicorn with deploy/gunicorn.conf.py (how deploy/ runs the service), granian
as `make run` runs it (poll_service/devserver.py) but serving the service
alone, with the publisher in its own process as bench.vote has it. The same
wrk load as bench.vote (64 connections, a new voter per vote). Prints votes
(or requests) a second, latency and the server processes' CPU per request,
which is what decides how fast each would go on a core of its own.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path

from .common import (
    ROOT,
    VENV_BIN,
    free_port,
    machine,
    quick_or,
    run_benchmark,
    running,
    save,
    wait_for_port,
)
from .vote import (
    BARE_APP,
    cpu_per_request,
    env_with,
    flask_command,
    gunicorn_command,
    run_wrk,
    service_env,
    worker_pids,
    write_tokens,
)

SERVICE = "poll_service:create_app"
BARE = "bench.bare_app:app"


def granian_command(app: str, port: int, threads: int, factory: bool) -> list[str]:
    return [
        str(VENV_BIN / "granian"),
        "--interface",
        "wsgi",
        *(["--factory"] if factory else []),
        "--workers",
        "1",
        "--blocking-threads",
        str(threads),
        "--no-ws",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        app,
    ]


def measure(server: str, app: str, duration: int, threads: int, connections: int) -> dict:
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-servers-")))
        port = free_port()
        if app == SERVICE:
            env = service_env(folder)
            subprocess.run(
                flask_command("poll", "init-db"),
                env=env_with(env),
                check=True,
                cwd=ROOT,
                capture_output=True,
            )
            publisher = flask_command("poll", "publish", "--watch")
            stack.enter_context(running(publisher, env, folder / "publisher.log", cwd=ROOT))
        else:
            env = dict(BARE_APP)
        if server == "gunicorn":
            command = gunicorn_command(port)
            env["GUNICORN_THREADS"] = str(threads)
        else:
            command = granian_command(app, port, threads, factory=app == SERVICE)
        process = stack.enter_context(running(command, env, folder / "server.log", cwd=ROOT))
        wait_for_port(port, process, timeout=60)
        origin = f"http://127.0.0.1:{port}"
        if app == SERVICE:
            tokens = write_tokens("127.0.0.1", port, quick_or(4, 64), folder / "tokens.tsv")
        else:
            tokens = folder / "tokens.tsv"
            tokens.write_text("unused=1\tunused\n")
        load: dict = {}
        with cpu_per_request([process.pid, *worker_pids(process.pid)], load):
            load.update(run_wrk(origin, tokens, origin, duration, connections))
    return load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=quick_or(2, 15))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--connections", type=int, default=quick_or(8, 64))
    args = parser.parse_args(argv)
    print(f"Servers, side by side (load average {machine()['load_average']})")
    figures: dict = {}
    for server in ("gunicorn", "granian"):
        for name, app in (("bare", BARE), ("service", SERVICE)):
            load = measure(server, app, args.duration, args.threads, args.connections)
            figures[f"{server} {name}"] = load
            print(
                f"  {server:8s} {name:7s} {load['per_second']:>8.1f}/s"
                f"  p50 {load['latency_ms']['p50']} ms  p99 {load['latency_ms']['p99']} ms"
                f"  CPU per request {load['worker_cpu_ms_per_request']} ms"
                f"  statuses {load['statuses']}",
                flush=True,
            )
    print(f"  (load average afterwards {machine()['load_average']})")
    save("servers", {"threads": args.threads, "duration_s": args.duration, **figures})
    return 0


if __name__ == "__main__":
    run_benchmark(main)
