"""Progress logging for sweeps and scenario scripts.

Messages go to the ``sem_sionna`` logger. :func:`configure_logging` (called by
:func:`~sem_sionna.sweep.parse_args`) prints ``INFO`` lines to stderr through
``tqdm.write`` so that they do not break a running progress bar.
"""
from __future__ import annotations

import logging
import sys

from tqdm.auto import tqdm

__all__ = ["logger", "configure_logging"]

logger = logging.getLogger("sem_sionna")


class _TqdmHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def configure_logging(level: int = logging.INFO) -> None:
    """Send ``sem_sionna`` log lines of ``level`` and above to stderr (once)."""
    if not any(isinstance(h, _TqdmHandler) for h in logger.handlers):
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    # the line is printed here; a root handler (absl adds one on its first log call,
    # e.g. from TF checkpointing) would print it a second time
    logger.propagate = False
    logger.setLevel(level)
