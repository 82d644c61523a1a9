"""Seeded random streams for what jirasim rebuilds per issue, at half the price of random.Random(seed).

random.Random(seed) seeds the Mersenne Twister twice — in __new__ and again in __init__ — at ~5 µs each,
and serving an issue makes five or six streams (its values, history, activity, woven changes, sprints).
A stream here is the same generator seeded once: the same numbers for the same seed.
"""

import random

_seed = random.Random.__mro__[1].seed  # _random.Random.seed: the C seeding, without random.Random's wrapper


def stream(seed: int) -> random.Random:
    """random.Random(seed), seeded once (seed: an int)."""
    rng = random.Random.__new__(random.Random)
    _seed(rng, seed)
    rng.gauss_next = None  # as random.Random.seed() leaves it
    return rng
