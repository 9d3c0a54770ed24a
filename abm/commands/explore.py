"""`abm explore [CONFIG] [--port P] [--host H] [--seed S] [--no-browser]`: watch a run unfold in Mesa's own
visualisation (SolaraViz), served by `solara run` on the page `abm/explore/app.py`."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from abm.commands._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_seed,
    error,
    whole,
)
from abm.explore import CONFIG_ENV, DEFAULT_CONFIG, DEFAULT_SEED, SEED_ENV

NAME = "explore"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765  # Solara's own default port; this machine only by default
STOP_SECONDS = 10  # after Ctrl-C, how long the server may take to stop before it is killed
VIZ_MODULES = ("solara", "altair")  # what mesa.visualization imports (the `viz` extra)
ASSETS = "solara-assets"  # Solara's front end, served locally: without it the page needs the internet
# Notices of the server that are not the user's to act on: Solara's hook check on Mesa's own ComponentsView,
# and its cookie notice for a plain-http address other than "localhost" (127.0.0.1, the default, is one).
QUIET = ("ignore::UserWarning:solara.validate_hooks", "ignore:Cookies with samesite=none require https")
DESCRIPTION = """\
Serve an interactive page for one scenario, built on Mesa's own visualisation (SolaraViz): the
regional network today (each state coloured by its alert, sized by its face deficit and labelled
with its belief that its adversary has unlimited aims; militias by revenge; killed commanders
crossed), the ladder timeline of the acts so far, the states' alert, face deficit and belief by
day, and a button that runs N runs and draws P(spiral by day t), P(deal by day t) and P(state
track quiet at day t).

The sidebar is SolaraViz's: Step, Play and Reset; the master seed and run index (run K of seed S
is row K of `abm run CONFIG --seed S`); one slider, drop-down or check box per lever of the
scenario (those `abm levers` derives). Reset builds the run again with the panel's settings.

CONFIG is a scenario YAML or a shipped scenario name (default baseline_jan2020). The page is
served until Ctrl-C. Needs the `viz` extra: pip install -e '.[viz]'."""
EPILOG = """\
examples:
  abm explore                                         # baseline_jan2020 at http://127.0.0.1:8765/
  abm explore configs/examples/border_crisis.yaml --port 8800 --no-browser
  abm explore configs/baseline_jan2020.yaml --seed 7 --host 0.0.0.0   # reachable from other machines"""


def register(subparsers: Any) -> None:
    """Add `explore` to the CLI's subparsers."""
    p = add_command(
        subparsers, NAME, "interactive page: watch a run unfold in Mesa's visualisation", DESCRIPTION, EPILOG, main
    )
    p.add_argument(
        "config",
        nargs="?",
        default=DEFAULT_CONFIG,
        metavar="CONFIG",
        help=f"scenario YAML or shipped scenario name (default {DEFAULT_CONFIG})",
    )
    p.add_argument(
        "--port", type=whole(1, 65535), default=DEFAULT_PORT, metavar="P", help=f"port (default {DEFAULT_PORT})"
    )
    p.add_argument("--host", default=DEFAULT_HOST, metavar="H", help=f"address to listen on (default {DEFAULT_HOST})")
    add_seed(p, "master seed of the first run shown", default=DEFAULT_SEED)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser at the page")


def missing_viz() -> list[str]:
    """The parts of the `viz` extra that are not installed (empty when the page can run)."""
    import importlib.util
    from importlib import metadata

    missing = [name for name in VIZ_MODULES if importlib.util.find_spec(name) is None]
    try:
        metadata.version(ASSETS)
    except metadata.PackageNotFoundError:
        missing.append(ASSETS)
    return missing


def assets_mismatch() -> str | None:
    """A warning when Solara and its offline front end differ in version (the page then loads it from a CDN)."""
    from importlib import metadata

    solara, assets = metadata.version("solara"), metadata.version(ASSETS)
    if solara == assets:
        return None
    return (
        f"solara {solara} with {ASSETS} {assets}: the page's front end comes from a CDN and stays blank "
        "without internet; pip install -e '.[viz]' installs the matching pair"
    )


def config_source(config: str) -> str:
    """What the page loads: an existing file as an absolute path (the server may run elsewhere), else the name."""
    path = Path(config)
    return str(path.resolve()) if path.exists() else config


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on (host, port): `solara run` would fail there after a slow start."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def solara_command(host: str, port: int, open_browser: bool) -> list[str]:
    """`solara run` on the page module, in this interpreter: production mode (no reloader), no version check
    (it calls PyPI at start)."""
    app = Path(__file__).resolve().parents[1] / "explore" / "app.py"
    return [
        sys.executable, "-m", "solara", "run", str(app), "--host", host, "--port", str(port), "--production",
        "--no-check-version", "--open" if open_browser else "--no-open",
    ]  # fmt: skip


def main(args: argparse.Namespace) -> int:
    """Serve the page until Ctrl-C; returns the exit code."""
    missing = missing_viz()
    if missing:
        error(
            NAME,
            f"the page needs the `viz` extra (Mesa's SolaraViz; missing: {', '.join(missing)}); "
            "install it with: pip install -e '.[viz]'",
        )
        return EXIT_USAGE
    warning = assets_mismatch()
    if warning:
        print(f"abm {NAME}: warning: {warning}", file=sys.stderr)
    from abm.api import load_scenario

    source = config_source(args.config)
    scenario = load_scenario(source)  # a bad config fails here, in one line, before any server starts
    if port_taken(args.host, args.port):
        error(NAME, f"port {args.port} on {args.host} is in use; choose another with --port")
        return EXIT_USAGE
    warnings = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS", ""), *QUIET]))
    env = {**os.environ, CONFIG_ENV: source, SEED_ENV: str(args.seed), "PYTHONWARNINGS": warnings}
    if getattr(args, "allow_outside_paths", False):  # the CLI's global flag reaches the server as the loader's env
        from abm.config.loader import ALLOW_OUTSIDE_ENV

        env[ALLOW_OUTSIDE_ENV] = "1"
    url = f"http://{args.host}:{args.port}/"
    print(f"abm {NAME}: {scenario.name} at {url} (Ctrl-C to stop)", file=sys.stderr)
    server = subprocess.Popen(solara_command(args.host, args.port, not args.no_browser), env=env)
    try:
        code = server.wait()
    except KeyboardInterrupt:
        _stop(server)
        print(f"abm {NAME}: stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        _stop(server)
    if code != 0:
        error(NAME, f"the page's server (solara run) exited with code {code}")
        return EXIT_FAILED
    return EXIT_OK


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server if it still runs (Ctrl-C reaches it too; SIGTERM reaches only this process)."""
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
