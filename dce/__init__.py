"""dce: discrete choice experiments from design to policy answer.

The numerical core (``dce.data``, ``dce.spec``, ``dce.models``, ``dce.post``, ``dce.design``) is free of
the CLI and of terminal output so it can be used as a library; ``dce.cli`` is a thin layer on top.
"""

__version__ = "0.1.0"
