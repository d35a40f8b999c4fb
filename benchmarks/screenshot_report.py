"""Screenshot of the New Deal report in headless Chromium, for a person to look at.

    python benchmarks/screenshot_report.py [--out DIR] [--keep PATH] [--full]

Runs ``examples/newdeal/run.sh DIR`` (design check, fit, shares, WTP, report; SIMULATED responses),
opens ``DIR/report.html`` in headless Chromium (Debian's ``chromium`` package) and writes

* ``DIR/report.png``: the top of the report, 1000 x 1400 pixels, reduced to a 64-colour palette so
  that it stays small; taken twice, and the script says whether the two are byte-identical;
* with ``--full``: ``DIR/report-full-NN.png``, the whole page in 1000 x 1500 slices (for a review).

It prints the page's console messages (there must be none), the size, the SHA-256 and the share of
non-white pixels of the screenshot.  ``--keep PATH`` also copies the small screenshot there (the one
kept in the repository is ``examples/newdeal/report.png``).
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dce.report import browser  # noqa: E402

WIDTH, HEIGHT, SLICE = 1000, 1400, 1500


def small_png(src: Path, dst: Path, colours=64):
    """A palette PNG (deterministic median-cut quantisation, no dithering, no metadata)."""
    from PIL import Image

    with Image.open(src) as im:
        im.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT,
                                   dither=Image.Dither.NONE).save(dst, optimize=True)


def ink(path: Path) -> float:
    """Share of pixels that are not (nearly) white: 0 for a blank page."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im.convert("L"))
    return float((a < 240).mean())


def full_page(html: Path, out: Path):
    """The whole page, taken in one tall window and cut into slices."""
    from PIL import Image

    tall = out / "report-full.png"
    browser.screenshot(html, tall, WIDTH, 16000)
    import numpy as np

    with Image.open(tall) as im:
        a = np.asarray(im.convert("L"))
        rows = np.where(a.min(axis=1) < 250)[0]
        bottom = int(rows.max()) + 20 if rows.size else SLICE
        paths = []
        for k, top in enumerate(range(0, bottom, SLICE)):
            p = out / f"report-full-{k:02d}.png"
            im.crop((0, top, WIDTH, min(bottom, top + SLICE))).save(p)
            paths.append(p)
    tall.unlink()
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out-screenshot", help="working folder (default: out-screenshot)")
    ap.add_argument("--keep", help="also copy the small screenshot to this path")
    ap.add_argument("--full", action="store_true", help="also the whole page, in slices")
    args = ap.parse_args()
    chromium = browser.find_chromium()
    if chromium is None:
        sys.exit("no Chromium on PATH: apt-get install -y chromium")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run(["bash", str(ROOT / "examples" / "newdeal" / "run.sh"), str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    t_run = time.perf_counter() - t0
    html = out / "report.html"
    t0 = time.perf_counter()
    dom, messages = browser.load(html, chromium)
    t_load = time.perf_counter() - t0
    shots = []
    for k in range(2):
        raw = out / f"report-raw-{k}.png"
        browser.screenshot(html, raw, WIDTH, HEIGHT, chromium)
        small = out / ("report.png" if k == 0 else "report-again.png")
        small_png(raw, small)
        raw.unlink()
        shots.append(small)
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in shots]
    print(f"browser: {chromium}")
    print(f"examples/newdeal/run.sh: {t_run:.1f} s; report.html {html.stat().st_size:,} bytes; "
          f"page load and DOM dump {t_load:.1f} s")
    print(f"console messages: {len(messages)}")
    for m in messages:
        print(f"  {m}")
    print(f"DOM: {len(dom):,} characters, {dom.count('<svg')} inline SVG figures, {dom.count('<table')} tables")
    print(f"screenshot: {shots[0]} ({WIDTH} x {HEIGHT}, 64 colours), {shots[0].stat().st_size:,} bytes, "
          f"sha256 {digests[0][:16]}..., non-white pixels {100 * ink(shots[0]):.1f}%")
    print(f"taken twice: {'byte-identical' if digests[0] == digests[1] else 'DIFFERENT'}")
    shots[1].unlink()
    if args.full:
        for p in full_page(html, out):
            print(f"full page slice: {p}")
    if args.keep:
        shutil.copyfile(shots[0], args.keep)
        print(f"kept as {args.keep}")
    return 0 if not messages and digests[0] == digests[1] else 1


if __name__ == "__main__":
    sys.exit(main())
