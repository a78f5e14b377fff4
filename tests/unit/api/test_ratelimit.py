from __future__ import annotations

from safecity.api.ratelimit import SlidingWindowLimiter


def test_sliding_window_per_key_with_retry_after_and_bounded_memory() -> None:
    now = [1000.0]
    lim = SlidingWindowLimiter(3, 60.0, max_keys=2, clock=lambda: now[0])
    for _ in range(3):
        assert lim.retry_after("a") is None
        lim.hit("a")
    assert lim.retry_after("a") == 60.0
    assert lim.retry_after("b") is None
    now[0] += 30
    assert lim.retry_after("a") == 30.0
    now[0] += 30.5
    assert lim.retry_after("a") is None  # the first hits left the window
    lim.hit("b")
    lim.hit("c")
    lim.hit("d")  # over max_keys: the least recently hit keys are forgotten
    assert set(lim._hits) == {"c", "d"}
    lim.reset("c")
    assert set(lim._hits) == {"d"}
