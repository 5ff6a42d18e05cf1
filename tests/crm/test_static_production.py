import re
import subprocess
import sys
import time
import urllib.request

import pytest

from support import ROOT, free_port, stop_process, subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)


def test_production_mode_serves_hashed_static_files_with_whitenoise(tmp_path):
    env = subprocess_env() | {
        "DEBUG": "false", "STATIC_ROOT": str(tmp_path / "static"), "STATIC_MANIFEST": "true",
        "WHITENOISE_USE_FINDERS": "false", "SECURE_COOKIES": "false",
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "crm.asgi:application", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        html = None
        for _ in range(100):
            try:
                html = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert html is not None, "the production-mode server did not answer"
        css = re.search(r'href="(/static/crm/app\.[0-9a-f]{12}\.css)"', html)
        htmx = re.search(r'src="(/static/vendor/htmx/htmx\.min\.[0-9a-f]{12}\.js)"', html)
        assert css and htmx, "static URLs are not hashed by the manifest storage"
        for path in (css.group(1), htmx.group(1)):
            response = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2)
            assert response.status == 200
            assert "max-age=315360000" in response.headers["Cache-Control"]
    finally:
        stop_process(server)
