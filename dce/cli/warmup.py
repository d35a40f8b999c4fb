"""`dce warm-up`: compile the numba kernels now, so that no later fit or design search pays for it."""
from __future__ import annotations

import click

from dce.cli.common import user_errors


@click.command(name="warm-up")
@user_errors
def warm_up():
    """Compile the kernels of the mixed logit, HB and the design search now.

    \b
    numba compiles them on their first use on a machine (seconds each)
    and keeps them in its disk cache (NUMBA_CACHE_DIR, or next to the
    package); run this once after installing, e.g. in a Docker image.
    """
    import sys

    from dce.models.warmup import warm_up as run
    from dce.util.backend import choose_backend

    if choose_backend("auto") != "numba":
        click.echo("numba is not installed: the numpy path runs instead, and it compiles nothing", file=sys.stderr)
        return

    def say(kernel):
        click.echo(f"compiling the {kernel} kernel ...", file=sys.stderr)

    for kernel, seconds, compiled in run(progress=say):
        click.echo(f"{kernel}: " + (f"compiled in {seconds:.1f} s" if compiled else "ready (already compiled)"),
                   file=sys.stderr)
