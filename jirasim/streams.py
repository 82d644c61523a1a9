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


def below(rng: random.Random, n: int) -> int:
    """rng.randrange(n) for n > 0, as the standard library draws it (`_randbelow_with_getrandbits`) in one
    Python call instead of two or three: rng.randint(a, b) is a + below(rng, b - a + 1) and rng.choice(s) is
    s[below(rng, len(s))], the same numbers from the same stream."""
    getrandbits = rng.getrandbits
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r
