"""Intervals on the dashboard's proportions (docs/metrics.md, "Intervals").

The Wilson score interval of a proportion p = k / n at confidence z (1.96: 95 %)::

    centre = (p + z² / 2n) / (1 + z² / n)
    half   = z / (1 + z² / n) * sqrt(p (1 - p) / n + z² / 4n²)
    [centre - half, centre + half]

It stays inside 0..1 and is not empty at p = 0 or 1, unlike p ± z·sqrt(p(1-p)/n).
Pure: no Flask, no database.
"""

from __future__ import annotations

import math

Z95 = 1.96
# An interval wider than this, or an n below MIN_N, is shown greyed ("uncertain").
WIDE = 0.2


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson interval ``(low, high)`` of successes / n; None when n == 0.

    ValueError when successes is not within 0..n.
    """
    if n == 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, got {successes}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)
