import subprocess

from support import ROOT

TRACKER = ROOT / "static" / "crm" / "track.js"


def test_the_tracker_minifies_under_8_kb_and_has_no_dependencies():
    minified = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "terser"), str(TRACKER), "-c", "-m"],
        check=True, capture_output=True, text=True,
    ).stdout
    assert 1000 < len(minified.encode()) < 8 * 1024
    source = TRACKER.read_text()
    assert "import " not in source and "require(" not in source
