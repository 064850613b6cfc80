"""In a real Chromium, text passed through ``md_escape`` shows literally: no HTML, link, list, emphasis or math.

AppTest sees the markdown source only; whether Streamlit's renderer turns it into elements is what users meet,
so this renders it with ``streamlit run`` and reads the DOM with playwright.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
HOSTILE = ("<script>alert('x')</script> <img src=x onerror=alert(1)> [click](javascript:alert(1)) "
           "![t](http://tracker.example/p.png ) http://bare.example me@mail.example *bold* __b__ `code` dr-li & a_b_c $x$\n1. not a list\n- nor this")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def test_escaped_user_text_renders_literally(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    script = tmp_path / "show.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nimport streamlit as st\n"
                      f"from submissions.ui import md_escape\nst.error(md_escape({HOSTILE!r}))\n", encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                               "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                              cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}")
            alert = page.get_by_test_id("stAlertContainer")
            alert.wait_for(timeout=60_000)
            text, html = alert.inner_text(), alert.inner_html()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert text.split() == HOSTILE.split()  # every character shown as typed (line breaks may fold)
    for tag in ("<script", "<img", "<em", "<strong", "<code", "<ol", "<ul", "<li", "katex", "href=\"javascript"):
        assert tag not in html, tag
    # only the bare URLs and the e-mail address are autolinked by Streamlit (escaping cannot stop that; an escaped
    # character glued to a URL's end is taken into the link and its backslash shows, hence the space after p.png)
    assert re.findall(r'<a href="([^"]+)"', html) == ["http://tracker.example/p.png", "http://bare.example",
                                                      "mailto:me@mail.example"]
