"""Sanity limits and selection by agreement: the intersection algorithm, the clock using it,
and the poller's back-off after a kiss-o'-death (sans-IO)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ntp_proxy.clock import Clock
from ntp_proxy.poller import KissBackoff
from ntp_proxy.selection import intersection, truechimers
from tests.test_ntp_clock import T1, sample


def test_intersection_of_agreeing_intervals() -> None:
    assert intersection([(-1.0, 1.0)]) == (-1.0, 1.0)
    assert intersection([(-1.0, 1.0), (0.0, 2.0), (0.5, 3.0)]) == (0.5, 1.0)
    assert intersection([(0.0, 1.0), (1.0, 2.0)]) == (1.0, 1.0)  # touching is agreeing
    assert intersection([]) is None


def test_one_falseticker_of_three_is_outvoted() -> None:
    intervals = [(9.0, 11.0), (-0.1, 0.1), (-0.05, 0.2)]
    assert intersection(intervals) == (-0.05, 0.1)
    assert truechimers(intervals) == [1, 2]


def test_two_that_disagree_have_no_majority() -> None:
    assert intersection([(0.0, 1.0), (2.0, 3.0)]) is None
    assert truechimers([(0.0, 1.0), (2.0, 3.0)]) == []
    # four with two camps of two: no majority either
    assert truechimers([(0.0, 1.0), (0.5, 1.5), (5.0, 6.0), (5.5, 6.5)]) == []
    # five with a camp of three: the three win
    camps = [(0.0, 1.0), (0.5, 1.5), (5.0, 6.0), (5.5, 6.5), (0.8, 2.0)]
    assert truechimers(camps) == [0, 1, 4]


intervals_strategy = st.lists(
    st.tuples(st.floats(-100, 100), st.floats(0, 10)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=9,
)


@given(intervals_strategy)
def test_truechimers_share_the_majority_range(intervals: list[tuple[float, float]]) -> None:
    shared = intersection(intervals)
    chosen = truechimers(intervals)
    if shared is None:
        assert chosen == []
        return
    low, high = shared
    # a majority of the intervals reach the range from each side ...
    assert sum(lo <= low <= hi for lo, hi in intervals) * 2 > len(intervals)
    assert sum(lo <= high <= hi for lo, hi in intervals) * 2 > len(intervals)
    # ... and the truechimers all hold it whole, so they agree with one another
    for index, (lo, hi) in enumerate(intervals):
        assert (index in chosen) == (lo <= low and high <= hi)


def test_offset_beyond_the_limit_is_rejected_with_a_warning() -> None:
    clock = Clock(["far", "near"], max_holdover=100.0, max_offset=1.0)
    events = clock.end_round([sample(3 * 3600.0, 0.001, upstream="far"), None], T1)
    assert [(e.name, e.level) for e in events] == [("offset_rejected", "warning")]
    assert events[0].fields == {"upstream": "far", "offset": 10800.0, "limit": 1.0}
    assert not clock.synchronised(T1) and clock.offset == 0.0
    clock.end_round([sample(-0.5, 0.001, upstream="far"), None], T1 + 1)
    assert clock.synchronised(T1 + 1) and clock.offset == -0.5  # within the limit
    unlimited = Clock(["far"], max_holdover=100.0)
    unlimited.end_round([sample(3 * 3600.0, 0.001, upstream="far")], T1)
    assert unlimited.offset == 10800.0  # --max-offset 0: no limit


def test_a_preferred_falseticker_cannot_move_the_time() -> None:
    clock = Clock(["liar", "b", "c"], max_holdover=100.0)
    events = clock.end_round(
        [
            sample(0.5, 0.001, upstream="liar"),
            sample(0.0002, 0.001, upstream="b"),
            sample(-0.0001, 0.001, upstream="c"),
        ],
        T1,
    )
    assert clock.selected == 1 and clock.offset == 0.0002
    assert clock.falsetickers == {0}
    assert (events[0].name, events[0].fields["upstream"]) == ("falseticker", "liar")
    # the liar comes back to the truth: selected again, as the preferred one
    events = clock.end_round(
        [
            sample(0.0001, 0.001, upstream="liar", taken=T1 + 1),
            sample(0.0002, 0.001, upstream="b", taken=T1 + 1),
            None,
        ],
        T1 + 1,
    )
    assert clock.falsetickers == set() and clock.selected == 0
    assert ("truechimer", "liar") in [(e.name, e.fields.get("upstream")) for e in events]


def test_two_disagreeing_upstreams_select_neither() -> None:
    clock = Clock(["a", "b"], max_holdover=100.0)
    clock.end_round([sample(0.5, 0.001, upstream="a"), sample(0.0, 0.001, upstream="b")], T1)
    assert clock.selected is None and not clock.synchronised(T1)
    assert clock.falsetickers == {0, 1}


def test_kiss_backoff_doubles_and_resets() -> None:
    backoff = KissBackoff(2)
    assert backoff.due() == [True, True]
    assert [backoff.kissed(0, rate=True) for _ in range(8)] == [1, 2, 4, 8, 16, 32, 64, 64]
    rounds = [backoff.due() for _ in range(66)]
    assert [r[0] for r in rounds].count(True) == 2  # skipped 64, then due again
    assert all(r[1] for r in rounds)
    backoff.answered(0)
    assert backoff.kissed(0, rate=True) == 1
    assert backoff.kissed(1, rate=False) == KissBackoff.MAX_SKIP  # DENY, RSTR
