"""The deployment files work as written (no Docker engine here: they are checked by reading them).

``deploy/docker-compose.yml``: the service's store URL names the InfluxDB service on a network the
two share (or, with host networking, a port InfluxDB publishes on the host's loopback), the
command is one `microgrid run` accepts, the status endpoint is reachable, and every secret and
volume it names exists. ``deploy/microgrid.service``: its command is one `microgrid run` accepts.
"""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit

import pytest
import yaml
from testkit import ROOT

from microgrid.cli import build_parser

COMPOSE = ROOT / "deploy" / "docker-compose.yml"
UNIT = ROOT / "deploy" / "microgrid.service"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _run_args(command: str | list[str]):
    """The parsed options of a `microgrid run ...` command line (argparse exits 2 on a bad one)."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    assert argv[:2] == ["microgrid", "run"], argv
    return build_parser().parse_args(argv[1:])


def _networks(service: dict) -> set[str]:
    nets = service.get("networks") or ["default"]
    return set(nets if isinstance(nets, list) else nets.keys())


def _published(service: dict) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of every published port."""
    out = []
    for spec in service.get("ports", []):
        parts = str(spec).split(":")
        host = parts[0] if len(parts) == 3 else "0.0.0.0"
        out.append((host, int(parts[-2]), int(parts[-1].split("/")[0])))
    return out


def test_the_service_reaches_influxdb_as_written(compose):
    services = compose["services"]
    service = services["microgrid"]
    args = _run_args(service["command"])
    store = urlsplit(args.store)
    assert store.scheme in ("influx1", "influx2"), args.store
    port = store.port or 8086
    if service.get("network_mode") == "host":
        # host networking: only the host's own addresses; InfluxDB must publish the port there
        assert store.hostname in LOOPBACK, f"{store.hostname} does not resolve with host networking"
        assert any(p[1] == port for s in services.values() for p in _published(s))
        return
    target = services.get(store.hostname)
    assert target is not None, f"store host {store.hostname!r} is not a service of the compose file"
    assert target.get("network_mode") != "host" and "network_mode" not in service
    assert _networks(service) & _networks(target), "no network shared with the store's service"
    assert "influxdb" in target["image"] and port == 8086  # the port the influxdb image listens on
    assert store.hostname in service.get("depends_on", [])
    # the token: a file from a secret the service mounts, which the compose file defines
    token_file = service["environment"]["MICROGRID_INFLUX_TOKEN_FILE"]
    assert token_file.startswith("/run/secrets/")
    assert token_file.rsplit("/", 1)[1] in service["secrets"]
    assert set(service["secrets"]) <= set(compose["secrets"])


def test_the_status_endpoint_is_reachable_and_the_spool_persists(compose):
    service = compose["services"]["microgrid"]
    args = _run_args(service["command"])
    if service.get("network_mode") == "host":
        return  # the status listens on the host itself
    assert args.status_addr is not None, "in a container, loopback is the container's own"
    host, port = args.status_addr
    assert host == "0.0.0.0"
    assert ("127.0.0.1", port, port) in _published(service)
    assert args.spool_only_start, "the camp must run while the InfluxDB container is down"
    volumes = {v.split(":")[0]: v.split(":")[1] for v in service["volumes"]}
    spool_volume = [name for name, mount in volumes.items() if args.spool.startswith(mount + "/")]
    assert spool_volume and spool_volume[0] in compose["volumes"], args.spool


def test_the_systemd_unit_runs_a_valid_command():
    text = UNIT.read_text().replace("\\\n", " ")
    [line] = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(line.removeprefix("ExecStart="))
    argv[0] = argv[0].rsplit("/", 1)[1]
    args = _run_args(argv)
    assert urlsplit(args.store).hostname in LOOPBACK
