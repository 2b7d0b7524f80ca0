"""Private PostgreSQL, Redis, nginx and service servers on loopback, for the tests.

Each server runs from Debian's packages in its own temporary folder, on a free
port on 127.0.0.1, in the foreground as a child of the test run, and is
stopped and deleted afterwards. Nothing touches the machine's own services.

When a package is missing, ``require_program`` runs
``scripts/install-system-deps.sh`` (which installs it when we are root). If the
program is still missing the test is skipped with the reason, or fails when
``CI`` is set, as the browser tests do.

nginx runs with the production configuration from ``deploy/nginx/``: only the
lines that name machine paths (user, pid, logs), the upstream list and the
``server`` block are replaced by test versions (``NginxServer.render``).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from .paths import DEPLOY, ROOT
from .processes import (
    ADDRESS_IN_USE,
    PortTaken,
    Unavailable,
    candidate_port,
    exited,
    log_size,
    read_from,
    start_retrying,
    stop_process,
    tail,
    wait_for_line,
)
from .server import STOP_SECONDS, serve_command, wait_until_serving
from .waiting import wait_until

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IS_ROOT = os.geteuid() == 0


def _which(program: str) -> str | None:
    if program == "postgres":
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version_key)
        return found[-1] if found else None
    return shutil.which(program, path=os.environ.get("PATH", "") + os.pathsep + SYSTEM_PATH)


def _version_key(path: str) -> int:
    match = re.search(r"/postgresql/(\d+)/", path)
    return int(match.group(1)) if match else 0


def require_program(program: str) -> str:
    """The path of ``program``, installing its Debian package first if we can."""
    path = _which(program)
    if path is None and IS_ROOT:
        subprocess.run([str(ROOT / "scripts" / "install-system-deps.sh")], check=False)
        path = _which(program)
    if path is None:
        raise Unavailable(
            f"{program} is not installed: run scripts/install-system-deps.sh as root "
            "(it installs Debian's nginx, postgresql and redis-server)"
        )
    return path


class PostgresServer:
    """A throwaway PostgreSQL cluster; each test gets a fresh database in it.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the
    ``postgres`` user that Debian's package creates. The server's TimeZone is
    deliberately not UTC, so the tests notice any code that depends on it.
    """

    TIMEZONE = "America/New_York"

    def __init__(self):
        self.bin = Path(require_program("postgres")).parent
        self.port: int | None = None  # chosen at start
        self.base = Path(tempfile.mkdtemp(prefix="inquiry-postgres-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.run_as = ["runuser", "-u", "postgres", "--"] if IS_ROOT else []
        self._databases = 0

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [*self.run_as, *command], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise Unavailable(f"{command[0]} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> PostgresServer:
        if IS_ROOT:
            shutil.chown(self.base, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "-A", "trust"),
            *("-E", "UTF8", "--locale=C", "--no-sync"),
        )
        return start_retrying(self._start_on_a_free_port)

    def _start_on_a_free_port(self) -> PostgresServer:
        """pg_ctl on a candidate port; PortTaken if another process got there first."""
        self.port = candidate_port()
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                "-c unix_socket_directories=''",
                f"-c timezone={self.TIMEZONE}",
                "-c max_connections=1000",
                # A test database need not survive a power cut.
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            ]
        )
        offset = log_size(self.log)
        try:
            self._run(
                str(self.bin / "pg_ctl"),
                *("-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"),
            )
        except Unavailable as error:
            if ADDRESS_IN_USE.search(read_from(self.log, offset)):
                raise PortTaken(str(error)) from None
            raise
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._databases += 1
        name = f"test_{self._databases}"
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            # With fsync off, copying the files beats logging every page (15+).
            strategy = " STRATEGY FILE_COPY" if _version_key(str(self.bin)) >= 15 else ""
            conn.execute(f"CREATE DATABASE {name}{strategy}")
        return self.url(name)

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast"]
                + ["-w", "stop"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.base, ignore_errors=True)


class RedisServer:
    """Redis in the foreground, with no persistence."""

    def __init__(self):
        self.program = require_program("redis-server")
        self.port: int | None = None  # chosen at start
        self.base = Path(tempfile.mkdtemp(prefix="inquiry-redis-"))
        self.log = self.base / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        return start_retrying(self._start_on_a_free_port)

    def _start_on_a_free_port(self) -> RedisServer:
        """Redis cannot report a port it chose (its port 0 means no TCP at all), so it
        starts on a candidate port, and again on another if that one is taken."""
        self.port = candidate_port()
        command = [self.program, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        command += ["--dir", str(self.base), "--logfile", str(self.log)]
        offset = log_size(self.log)
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_for_line(self.log, "Ready to accept connections", self.process, 20, offset)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
        shutil.rmtree(self.base, ignore_errors=True)


class ServiceInstance:
    """One instance of the poll service, under production's launcher
    (``python -m poll_service.serve``) with its settings from ``env``."""

    def __init__(self, env: dict[str, str], base: Path, name: str):
        self.port: int | None = None  # the launcher's choice, kept across restarts
        self.log = base / f"{name}.log"
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen | None = None

    def start(self) -> ServiceInstance:
        """Start on a free port the first time, and learn it from the launcher's
        "Listening at" line; a restart (as in a rolling update) keeps that port.
        Either way, return once the service answers there."""
        if self.port is None:
            return start_retrying(self._start)
        return self._start()

    def _start(self) -> ServiceInstance:
        offset = log_size(self.log)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                serve_command(self.port or 0),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.port = wait_until_serving(self.log, self.process, offset)
        return self

    def stop(self) -> None:
        """SIGTERM, as systemd stops it: requests in flight are finished first
        (granian has no quicker stop; SIGINT does the same)."""
        if self.process is not None:
            stop_process(self.process, signal.SIGTERM, STOP_SECONDS)


class NginxServer:
    """nginx with deploy/nginx/ as its configuration, serving ``root`` on loopback."""

    def __init__(self, root: Path, upstream_ports: list[int], error_log_level: str | None = None):
        self.program = require_program("nginx")
        self.port: int | None = None  # chosen at start
        self.root = root
        self.upstream_ports = upstream_ports
        self.error_log_level = error_log_level
        self.base = Path(tempfile.mkdtemp(prefix="inquiry-nginx-"))
        self.logs = self.base / "logs"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.logs / "access.log"

    @property
    def error_log(self) -> Path:
        return self.logs / "error.log"

    def render(self) -> Path:
        """Copy deploy/nginx/ and point its machine-specific lines at the temp folder."""
        conf = self.base / "conf"
        shutil.copytree(DEPLOY / "nginx", conf, dirs_exist_ok=True)
        shutil.copy("/etc/nginx/mime.types", conf / "mime.types")
        self.logs.mkdir(exist_ok=True)
        main = (conf / "nginx.conf").read_text()
        main = re.sub(r"(?m)^user .*;$", "user root;" if IS_ROOT else "", main)
        main = main.replace("/run/nginx.pid", str(self.base / "nginx.pid"))
        main = main.replace("/var/log/nginx/", f"{self.logs}/")
        if self.error_log_level:
            main = re.sub(r"(?m)^(error_log \S+) \w+;$", rf"\1 {self.error_log_level};", main)
        (conf / "nginx.conf").write_text(main)
        temp = self.base / "temp"
        temp.mkdir(exist_ok=True)
        servers = "".join(f"    server 127.0.0.1:{port};\n" for port in self.upstream_ports)
        (conf / "inquiry" / "upstream.conf").write_text(
            f"upstream poll_service {{\n{servers}    keepalive 8;\n}}\n"
            + "".join(
                f"{kind}_temp_path {temp / kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
        )
        (conf / "inquiry" / "site.conf").write_text(
            "server {\n"
            f"    listen 127.0.0.1:{self.port} default_server;\n"
            "    server_name localhost;\n"
            f"    root {self.root};\n"
            "    include inquiry/locations.conf;\n"
            "}\n"
        )
        return conf / "nginx.conf"

    @property
    def pid_file(self) -> Path:
        return self.base / "nginx.pid"

    def start(self) -> NginxServer:
        try:
            return start_retrying(self._start_on_a_free_port)
        except Unavailable:
            self.remove()
            raise

    def _start_on_a_free_port(self) -> NginxServer:
        """nginx cannot report a port it chose, so it starts on a candidate port,
        and again on another if that one is taken."""
        self.port = candidate_port()
        conf = self.render()
        command = [self.program, "-p", str(self.base), "-c", str(conf)]
        command += ["-e", str(self.error_log), "-g", "daemon off;"]
        offset = self._log_offset = log_size(self.error_log)
        with (self.base / "stderr.log").open("ab") as stderr:
            self.process = subprocess.Popen(command, stderr=stderr)
        try:
            # nginx writes its pid file only once its listening socket is open.
            wait_until(self._listening, timeout=20, what=f"nginx on port {self.port}")
        except AssertionError as error:
            stop_process(self.process)
            raise Unavailable(f"{error}:\n{tail(read_from(self.error_log, offset))}") from None
        except Unavailable:
            stop_process(self.process)
            raise
        return self

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise exited(self.process, self.error_log, self._log_offset)
        return self.pid_file.exists() and self.pid_file.read_text().strip() == str(self.process.pid)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGQUIT)

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, quotes)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class PublisherProcess:
    """``flask --app poll_service poll publish --watch``, as the systemd unit runs it."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> PublisherProcess:
        flask = str(Path(sys.executable).parent / "flask")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [flask, "--app", "poll_service", "poll", "publish", "--watch"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGINT)


class Deployment:
    """The production set-up on loopback: nginx in front of two service instances
    (two workers each), PostgreSQL for votes, Redis for rate limits, and the
    results publisher writing into the site nginx serves."""

    INSTANCES = 2

    def __init__(self, base: Path, postgresql: PostgresServer, build_site):
        self.base = base
        self.output = base / "output"
        self.database_url = postgresql.create_database()
        self.redis = RedisServer()
        self.build_site = build_site
        self.instances: list[ServiceInstance] = []
        self.publisher: PublisherProcess | None = None
        self.nginx: NginxServer | None = None

    def service_env(self) -> dict[str, str]:
        """deploy/poll.env.example, with this machine's paths and servers."""
        env = read_env_file(DEPLOY / "poll.env.example")
        env.update(
            {
                "POLL_SECRET_KEY": "one-key-for-every-instance",
                "POLL_DATABASE_URL": self.database_url,
                "POLL_RATELIMIT_STORAGE_URI": self.redis.url,
                # Marks and keys in memory only, shared by every instance.
                "POLL_MARKS_URL": self.redis.url,
                # The stack's tests follow votes through it one by one: every
                # vote its own batch (tests/test_anonymity_*.py hold k).
                "POLL_ANONYMITY_K": "1",
                "POLL_ANONYMITY_BATCH": "1",
                "POLL_POLLS_DIR": str(ROOT / "content" / "polls"),
                "POLL_SITE_OUTPUT_DIR": str(self.output),
                "POLL_PUBLISH_INTERVAL": "0.2",
                "WEB_CONCURRENCY": "2",
                "SERVER_THREADS": "4",
                # On for the tests, to see which instance served what.
                "SERVER_ACCESS_LOG": "on",
            }
        )
        return env

    def start(self) -> Deployment:
        self.redis.start()
        env = self.service_env()
        # The tables are made once, before any instance starts (docs/operators.md).
        flask = str(Path(sys.executable).parent / "flask")
        subprocess.run(
            [flask, "--app", "poll_service", "poll", "init-db"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        self.publisher = PublisherProcess(env, self.base / "publisher.log").start()
        self.build_site(self.output)
        for number in range(self.INSTANCES):
            instance = ServiceInstance(env, self.base, f"service-{number}")
            self.instances.append(instance)
        for instance in self.instances:
            instance.start()
        self.nginx = NginxServer(self.output, [i.port for i in self.instances]).start()
        return self

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop()
        for part in [self.nginx, self.publisher, self.redis]:
            if part is not None:
                part.stop()
        if self.nginx is not None:
            self.nginx.remove()


class LoopbackClient:
    """An HTTP client that connects from its own loopback address (127.0.0.0/8),
    so nginx sees a different client for each one, and keeps its cookies."""

    def __init__(self, address: str):
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(self, url: str, method: str = "GET", body=None, headers=None):
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        connection = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=30, source_address=(self.address, 0)
        )
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers, data
