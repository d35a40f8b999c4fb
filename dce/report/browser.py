"""A report as a person sees it: headless Chromium's console messages, DOM and screenshots.

Used by the browser test (which skips where Chromium is absent) and by
``benchmarks/screenshot_report.py``.  Chromium is Debian's ``chromium`` package (``apt-get install
chromium``); nothing here downloads a browser.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_CONSOLE = re.compile(r":(?:INFO|WARNING|ERROR):CONSOLE[^\]]*\]\s*(.*)")


def find_chromium() -> str | None:
    """The path of a Chromium-family browser on PATH, or None."""
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(browser, args, timeout):
    with tempfile.TemporaryDirectory(prefix="dce-chromium-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
               "--disable-background-networking", "--disable-sync", "--disable-default-apps", "--mute-audio",
               "--hide-scrollbars", "--force-device-scale-factor=1", "--force-color-profile=srgb",
               "--font-render-hinting=none", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "TZ": "UTC"})


def load(html_path, browser=None, timeout=120):
    """Open a page: ``(dom, console_messages)`` (the serialised DOM and every console message)."""
    browser = browser or find_chromium()
    url = "file://" + os.path.abspath(html_path)
    r = _run(browser, ["--dump-dom", url], timeout)
    messages = [m.group(1) for line in r.stderr.splitlines() for m in [_CONSOLE.search(line)] if m]
    return r.stdout, messages


def screenshot(html_path, png_path, width=1000, height=1400, browser=None, timeout=120):
    """A PNG of the page's first ``width`` x ``height`` pixels (the top of the report)."""
    browser = browser or find_chromium()
    url = "file://" + os.path.abspath(html_path)
    r = _run(browser, [f"--window-size={width},{height}", f"--screenshot={os.path.abspath(png_path)}", url],
             timeout)
    if not os.path.exists(png_path):
        raise RuntimeError(f"no screenshot from {browser}: {r.stderr.strip()[-500:]}")
    return png_path
