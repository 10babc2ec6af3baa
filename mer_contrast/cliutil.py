"""Shared bits of the argparse tools (``synth``, ``loso``, ``report``, ``demo``, ``bench``)."""

from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = ["OneLineParser"]


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line (``prog: error: ...; see `prog --help```), not usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")
