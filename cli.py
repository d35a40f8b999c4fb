#!/usr/bin/env python3
"""Launcher: ``python cli.py ...`` does what ``dce ...`` does, from a checkout."""
from dce.cli import main

if __name__ == "__main__":
    main()
