"""jirasim.streams against the standard library: the same numbers for the same seed, whichever way drawn."""

import random

from jirasim.streams import below, stream


def test_a_stream_is_random_random_of_its_seed() -> None:
    for seed in (0, 1, 7, 0xF1E1D, 2**32 - 1, 123_456_789):
        ours, theirs = stream(seed), random.Random(seed)
        assert [ours.random() for _ in range(50)] == [theirs.random() for _ in range(50)]


def test_below_draws_what_randint_choice_and_randrange_draw() -> None:
    items = tuple(range(37))
    for seed in range(300):
        ours, theirs = stream(seed), random.Random(seed)
        for n in (1, 2, 3, 5, 8, 30, 999, 1000, 1024, 65_537):
            assert 1 + below(ours, n) == theirs.randint(1, n)
            assert items[below(ours, len(items))] == theirs.choice(items)
            assert below(ours, n) == theirs.randrange(n)
        assert ours.random() == theirs.random()  # the streams are where they were
