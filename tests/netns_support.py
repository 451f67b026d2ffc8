"""Hosts for the several-machines test: network namespaces joined by veth pairs to a bridge (iproute2), each
running real processes: a PostgreSQL server of its own, web nodes, workers, HAProxy. Root only."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

NET = "10.231.7"
BRIDGE = "dpt-br0"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def missing() -> str | None:
    """Why these hosts cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "haproxy", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/install.sh installs haproxy as root)"
    if not (PG_BIN / "postgres").exists():
        return f"no PostgreSQL server binaries in {PG_BIN}"
    # A name of this process's own: every xdist worker imports the test module and probes at the same time.
    name = f"dpt-probe-{os.getpid()}"
    probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if probe.returncode:
        return f"cannot make a network namespace: {probe.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], check=False)
    return None


def sh(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, text=True)


class Network:
    """A bridge in this namespace (address .1) and a namespace per host (addresses from .2 up)."""

    def __init__(self) -> None:
        self.hosts: dict[str, str] = {}
        self.processes: list[subprocess.Popen] = []
        self.cleanup()
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{NET}.1/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")

    def add(self, name: str) -> str:
        address = f"{NET}.{len(self.hosts) + 2}"
        ns, outside = f"dpt-{name}", f"dpt-{name}-v"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", outside, "master", BRIDGE, "up")
        sh("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        self.hosts[name] = address
        return address

    def run(self, name: str, args: list[str], env: dict[str, str] | None = None, log: Path | None = None):
        """A process on host `name` (its output to `log`)."""
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            ["ip", "netns", "exec", f"dpt-{name}", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def cut(self, name: str) -> None:
        """The host's cable pulled: its link goes down, in-flight connections hang."""
        sh("ip", "link", "set", f"dpt-{name}-v", "down")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.cleanup()

    @staticmethod
    def cleanup() -> None:
        """Every dpt- namespace's processes killed, the namespaces, links and bridge deleted (also what an
        earlier, interrupted run left)."""
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        for ns in [line.split()[0] for line in listed.splitlines() if line.startswith("dpt-")]:
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            if pids:
                subprocess.run(["kill", "-9", *pids], capture_output=True, check=False)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        for line in links.splitlines():
            name = line.split(":")[1].strip().split("@")[0]
            if name.startswith("dpt-"):
                subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)


def start_postgres(net: Network, host: str) -> tuple[str, Path]:
    """A PostgreSQL server of its own on `host`, trusting the test network; returns (url, data dir)."""
    folder = Path(tempfile.mkdtemp(prefix="dpt-pg-"))
    folder.chmod(0o755)
    data = folder / "data"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
        ],
        check=True,
        capture_output=True,
    )
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {NET}.0/24 trust\n")
    address = net.hosts[host]
    net.run(
        host,
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "postgres"),
            "-D",
            str(data),
            "-h",
            address,
            "-k",
            str(data),
            "-c",
            "max_connections=200",
            "-c",
            "fsync=off",
        ],
        log=folder / "postgres.log",
    )
    url = f"postgresql+psycopg://postgres@{address}:5432/postgres"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = subprocess.run([str(PG_BIN / "pg_isready"), "-h", address, "-p", "5432"], capture_output=True)
        if ready.returncode == 0:
            return url, folder
        time.sleep(0.2)
    raise RuntimeError((folder / "postgres.log").read_text())


HAPROXY = """global
    maxconn 512
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
frontend web
    bind {address}:80
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz
{servers}
"""


def start_haproxy(net: Network, host: str, backends: dict[str, str], folder: Path) -> str:
    servers = "\n".join(
        f"    server {name} {address}:8000 check inter 300 fall 2 rise 2"
        for name, address in backends.items()
    )
    config = folder / "haproxy.cfg"
    config.write_text(HAPROXY.format(address=net.hosts[host], servers=servers))
    net.run(host, ["haproxy", "-f", str(config), "-db"], log=folder / "haproxy.log")
    return f"http://{net.hosts[host]}"
