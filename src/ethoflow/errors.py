"""Errors a user can act on: an unusable input file, a head without a usable champion model."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A recording or label file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class NoChampionError(RuntimeError):
    """A head has no usable champion model; the message says which head and what to run."""
