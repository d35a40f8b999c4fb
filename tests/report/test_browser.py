"""The New Deal report in a real headless browser: no console message, a page that is not blank.

Skips, saying why, where no Chromium is installed (``apt-get install -y chromium``).
"""
from __future__ import annotations

import pytest

from dce.report import browser

pytestmark = pytest.mark.skipif(browser.find_chromium() is None,
                                reason="no Chromium on PATH (apt-get install -y chromium)")


@pytest.fixture(scope="module")
def html(newdeal, mixed_model, tmp_path_factory):
    from click.testing import CliRunner

    from dce.cli import cli

    out = tmp_path_factory.mktemp("browser") / "report.html"
    r = CliRunner().invoke(cli, ["report", str(newdeal["model"]), str(mixed_model), "--design",
                                 str(newdeal["design"]), "--shares", str(newdeal["shares"]), "--shares",
                                 str(newdeal["shares_by"]), "--wtp", str(newdeal["wtp"]), "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_the_detector_sees_a_bad_page(tmp_path):
    """Control: a page that tries to load an image and run a script does log console messages."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><head><meta http-equiv='Content-Security-Policy' "
                   "content=\"default-src 'none'\"></head><body><p>x</p><img src='http://127.0.0.1:9/x.png'>"
                   "<script>console.error('boom')</script></body></html>")
    _, messages = browser.load(bad)
    assert len(messages) >= 2


def test_no_console_message_and_a_full_page(html):
    dom, messages = browser.load(html)
    assert messages == []
    assert dom.count("<svg") == 9 and dom.count("<table") > 20 and "Preference shares" in dom


def test_screenshot_is_not_blank(html, tmp_path):
    import numpy as np
    from PIL import Image

    png = browser.screenshot(html, tmp_path / "shot.png", 1000, 1400)
    with Image.open(png) as im:
        assert im.size == (1000, 1400)
        a = np.asarray(im.convert("L"))
    ink = (a < 240).mean()
    assert 0.02 < ink < 0.6, ink                    # text and rules on a white page, neither blank nor black
