"""`make run` and `make test`: start (or reuse) the services, then the CRM's processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))
import devservices  # noqa: E402
from crm import queues  # noqa: E402

PY = sys.executable
# Fixed Fernet keys for the test and benchmark runs (DEBUG is off there, so settings require keys).
TEST_FIELD_KEY = "dGVzdC1maWVsZC1lbmNyeXB0aW9uLWtleS0wMDAwMDA="
BENCH_FIELD_KEY = "YmVuY2gtZmllbGQtZW5jcnlwdGlvbi1rZXktMDAwMDA="


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(devservices.service_env())
    env.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def dev_env() -> dict[str, str]:
    """The developer's CRM (`make run`, `make demo-keys`): DEBUG on unless set, so settings use a dev secret key.

    Only these local commands turn DEBUG on; a deployed process reads the environment as it is, and there a
    missing SECRET_KEY with DEBUG off still refuses to start (crm/settings.py).
    """
    env = base_env()
    env.setdefault("DEBUG", "true")
    return env


def worker_all_queues() -> list[str]:
    """`make run`'s one worker: every queue of crm/queues.py, so one process pair does all the work on a laptop."""
    return [PY, "-m", "celery", "-A", "crm", "worker", "-l", "warning", "--concurrency", "2",
            "-Q", queues.consumed("all")]


def manage(env: dict[str, str], *args: str, capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True,
        stdout=subprocess.PIPE if capture else None,
    )


def run() -> int:
    env = dev_env()
    port = env.setdefault("PORT", "8000")
    env.setdefault("SITE_URL", f"http://localhost:{port}")
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo", "--if-empty")
    processes = {
        "web": [PY, "-m", "uvicorn", "crm.asgi:application", "--host", env.get("HOST", "127.0.0.1"),
                "--port", port, "--ws", "websockets-sansio", "--no-access-log"],
        "worker": worker_all_queues(),
        "beat": [PY, "-m", "celery", "-A", "crm", "beat", "-l", "warning",
                 "-s", str(devservices.DATA / "celerybeat-schedule")],
    }
    children: dict[str, subprocess.Popen] = {}
    for name, command in processes.items():
        children[name] = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    print(
        f"\n  Dealership CRM is running on http://localhost:{port}/\n"
        f"  Demo logins (password: demo-password-1): "
        "manager@demo.test, bdc@demo.test, sales1@demo.test, service@demo.test\n"
        "  (all logins, keys and tokens: make demo-keys)\n"
        "  Press Ctrl-C to stop web, worker and beat.\n",
        flush=True,
    )

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping the rest", file=sys.stderr)
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.3)
    for child in children.values():
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    print("stopped web, worker and beat", flush=True)
    return exit_code


def demo_keys() -> int:
    """Every demo login, API token and rooftop key as JSON on stdout (works on a fresh clone: migrates first)."""
    env = dev_env()
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo", "--json")
    return 0


def test(pytest_args: list[str]) -> int:
    env = base_env()
    # Separate Redis databases: a developer's running worker must never take a test's tasks.
    env["REDIS_DB_OFFSET"] = env.get("TEST_REDIS_DB_OFFSET", "16")
    env.setdefault("SECRET_KEY", "test-secret-key")
    env.setdefault("FIELD_ENCRYPTION_KEYS", TEST_FIELD_KEY)
    env.setdefault("WEBHOOK_ALLOW_LOOPBACK", "true")  # webhook tests post to a receiver on 127.0.0.1
    env.setdefault("ASSISTANT_WARM_AT_START", "false")  # every test server would load the assistant's reader
    # A configured replica streams the developer's database, not the test database: the replica tests make their
    # own streaming replica of the test server (tests/crm/test_read_replica.py).
    env.pop("DATABASE_REPLICA_URL", None)
    if pytest_args:
        return subprocess.call([PY, "-m", "pytest", *pytest_args], cwd=ROOT, env=env)
    # Playwright's sync API and pytest-asyncio cannot share one session: browser tests run on their own.
    first = subprocess.call([PY, "-m", "pytest", "-m", "not browser"], cwd=ROOT, env=env)
    second = subprocess.call([PY, "-m", "pytest", "-m", "browser", "-p", "no:asyncio"], cwd=ROOT, env=env)
    if os.environ.get("CI") == "true":
        devservices.stop()  # a CI machine keeps nothing; a developer keeps them warm for the next run
    return first or second


def bench(args: list[str]) -> int:
    env = base_env()
    env["REDIS_DB_OFFSET"] = env.get("BENCH_REDIS_DB_OFFSET", "24")
    env.setdefault("SECRET_KEY", "bench-secret-key")
    env.setdefault("FIELD_ENCRYPTION_KEYS", BENCH_FIELD_KEY)
    env.setdefault("RATE_LIMIT_ENABLED", "false")  # one loopback sender measures the pipeline, not the guard
    # `make bench ARGS="load -- --duration 60"`: names choose the scripts, what follows -- goes to each of them.
    names, options = (args[:args.index("--")], args[args.index("--") + 1:]) if "--" in args else (args, [])
    scripts = sorted((ROOT / "bench").glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(a in s.name for a in names)]
    status = 0
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        status |= subprocess.call([PY, str(script), *options], cwd=ROOT, env=env)
    return status


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if command == "run":
        sys.exit(run())
    if command == "test":
        sys.exit(test(rest))
    if command == "bench":
        sys.exit(bench(rest))
    if command == "demo-keys":
        sys.exit(demo_keys())
    sys.exit("usage: dev.py run|test|bench|demo-keys")
