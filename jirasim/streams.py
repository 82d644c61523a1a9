"""Seeded random streams for what jirasim rebuilds per issue, made for less than random.Random(seed).

random.Random(seed) runs the Python-level __init__ and seed() wrappers around the C seeding (~38,000
instructions in all, ~10,000 of them the wrappers), and serving an issue makes five or six streams (its
values, history, activity, woven changes, sprints). A stream here is the same generator seeded by the C
method directly: the same numbers for the same seed.
"""

import random

_seed = random.Random.__mro__[1].seed  # _random.Random.seed: the C seeding, without random.Random's wrapper


def stream(seed: int) -> random.Random:
    """random.Random(seed) (seed: an int), without the Python-level wrappers."""
    rng = random.Random.__new__(random.Random)
    _seed(rng, seed)
    rng.gauss_next = None  # as random.Random.seed() leaves it
    return rng
