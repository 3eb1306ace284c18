"""Exceptions shared by the sweep machinery and the links it evaluates."""
from __future__ import annotations

__all__ = ["NumericalError"]


class NumericalError(ArithmeticError):
    """A sweep point produced non-finite numbers (NaN/inf symbols, metrics, ...).

    Raise it from a link or an ``evaluate`` callback when a result cannot be
    trusted, e.g. NaN received symbols. :class:`~sem_sionna.sweep.SweepRunner`
    catches it, records the point as a failure (scheme, point, reason), does not
    write the point to the CSV and goes on with the next point. Any other
    exception stops the sweep.
    """
