"""bin/demo, run for real in a copy of the checkout: a .env that makes the README's commands work after
it, the admin URL, user and password together at the end, /metrics open to loopback, and a second demo
that serves admin although one of its instances fails."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.support.ports import port_free
from tests.support.waiting import eventually

ROOT = Path(settings.BASE_DIR)

pytestmark = pytest.mark.slow


def checkout_copy(folder: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    (folder / ".venv").symlink_to((ROOT / ".venv").resolve())
    return folder


def plain_env(**extra: str) -> dict[str, str]:
    """A shell's environment: none of the test run's Django settings or secrets."""
    keep = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    return {**keep, **extra}


def ports() -> dict[str, str]:
    web = port_free()
    cloud = port_free(web + 1)
    dc = port_free(cloud + 1)
    return {"PORT": str(web), "DEMO_CLOUD_PORT": str(cloud), "DEMO_DC_PORT": str(dc)}


def demo_start(folder: Path, log: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["bin/demo"],
        cwd=folder,
        env=plain_env(JIRASYNC_NO_INSTALL="1", DEMO_ISSUES="6", JIRASYNC_BACKOFF_BASE="0.01", **env),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def summary_of(demo: subprocess.Popen, log: Path, seconds: float = 300) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text()
        if "Ctrl-C stops it all" in text:
            return text
        assert demo.poll() is None, f"bin/demo exited {demo.returncode}:\n{text}"
        time.sleep(0.5)
    raise AssertionError(f"bin/demo printed no summary in {seconds} s:\n{log.read_text()}")


def demo_stop(demo: subprocess.Popen) -> None:
    if demo.poll() is None:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait(timeout=120)


def logged_in(url: str, user: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{url}login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": user, "password": password},
        headers={"Referer": f"{url}login/"},
        timeout=30,
    )
    assert answer.ok and "Control room" in answer.text, answer.text[:2000]
    return session


def test_the_demo_leaves_working_commands_and_a_second_demo_serves_admin_though_an_instance_fails(tmp_path):
    folder = checkout_copy(tmp_path / "jirasync")
    first_ports = ports()
    first = demo_start(folder, tmp_path / "first.log", **first_ports)
    second = None
    try:
        text = summary_of(first, tmp_path / "first.log")
        assert "simulator did not start" not in text and "sync failed" not in text, text
        env_file = (folder / ".env").read_text()
        assert re.search(r"^SECRET_KEY=\S{40,}$", env_file, re.M) and "JIRASYNC_ENCRYPTION_KEYS=" in env_file
        assert "METRICS_ALLOWED_IPS=127.0.0.1,::1" in env_file and "DEBUG=1" in env_file
        block = text[text.rindex("=" * 72, 0, text.rindex("=" * 72)) :]  # the closing block, together
        url = re.search(r"jirasync admin:\s+(\S+)", block).group(1)
        assert url == f"http://127.0.0.1:{first_ports['PORT']}/admin/"
        user = re.search(r"user:\s+(\S+)", block).group(1)
        password = re.search(r"password:\s+(\S+)", block).group(1)
        assert "manage.py changepassword admin" in block
        logged_in(url, user, password)
        metrics = requests.get(url.replace("/admin/", "/metrics"), timeout=30)
        assert metrics.status_code == 200 and "jirasync_issues{" in metrics.text

        # The README's commands, in a plain shell after the demo: the .env carries the settings.
        check = subprocess.run(
            [".venv/bin/python", "manage.py", "check_jira", "instance_1"],
            cwd=folder,
            env=plain_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert "authenticated" in check.stdout and "Traceback" not in check.stderr

        # A second demo beside the first, on the same ports it asks for, with its Data Center site failing.
        fault = json.dumps({"kind": "500", "endpoint": "*", "rate": 1}, separators=(",", ":"))  # one word
        second = demo_start(folder, tmp_path / "second.log", **first_ports, DEMO_DC_ARGS=f"--fault {fault}")
        text = summary_of(second, tmp_path / "second.log")
        assert "keeping your .env" in text and "simulator did not start" not in text
        block = text[text.rindex("=" * 72, 0, text.rindex("=" * 72)) :]
        second_url = re.search(r"jirasync admin:\s+(\S+)", block).group(1)
        assert second_url != url and "sync failed for: instance_2" in block, text
        assert "password:        (unchanged" in block
        logged_in(second_url, user, password)
        assert requests.get(f"{url}login/", timeout=30).ok  # the first demo still serves
    finally:
        for demo in (second, first):
            if demo is not None:
                demo_stop(demo)

    # Stopped, a demo leaves nothing running: the queue worker's own processes included.
    def nothing_left() -> None:
        left = processes_in(folder)
        assert not left, f"still running after the demos stopped: {left}"

    eventually(nothing_left, poll=0.5)


def processes_in(folder: Path) -> list[str]:
    """The command lines of the processes working in folder (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found
