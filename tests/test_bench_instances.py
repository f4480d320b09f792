"""The counting of `bench/instances.py` on made-up deliveries: what it calls lost, duplicated and out of order,
the peak of messages in one second, and the p95. The bench itself is not run here (it needs nginx, PostgreSQL,
Redis and minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.instances import Delivery, check_order, is_apology, nginx_config, p95, peak_per_second
from bot.errors import APOLOGY
from bot.i18n import create_i18n


def test_replies_in_the_order_sent_are_all_counted_good() -> None:
    assert check_order([1, 2, 3, 4], [1, 2, 3, 4]) == Delivery(lost=0, duplicated=0, out_of_order=0)


@pytest.mark.parametrize(("answered", "expected"), [
    ([3, 2, 1], Delivery(0, 0, 2)),  # reversed: 2 and 1 each came after a later one's answer
    ([2, 1, 3, 4], Delivery(0, 0, 1)),
    ([1, 3, 2, 4], Delivery(0, 0, 1)),
    ([4, 1, 2, 3], Delivery(0, 0, 3)),  # one early answer puts every other one behind it
])
def test_an_answer_after_the_answer_to_a_later_update_is_out_of_order(answered: list[int],
                                                                     expected: Delivery) -> None:
    assert check_order([1, 2, 3, 4][: max(answered)], answered) == expected


def test_a_number_never_answered_is_lost_and_one_answered_twice_is_duplicated() -> None:
    assert check_order([1, 2, 3], [1, 3]) == Delivery(lost=1, duplicated=0, out_of_order=0)
    assert check_order([1, 2, 3], [1, 2, 2, 3, 1]) == Delivery(lost=0, duplicated=2, out_of_order=0)
    assert check_order([1, 2], []) == Delivery(lost=2, duplicated=0, out_of_order=0)


def test_a_repeat_is_a_duplicate_not_a_disorder_and_a_stranger_counts_for_nothing() -> None:
    # The second 1 comes after 2's answer: it is a duplicate only; 9 was never sent.
    assert check_order([1, 2], [1, 2, 1, 9]) == Delivery(lost=0, duplicated=1, out_of_order=0)


def test_the_peak_is_the_most_messages_within_any_one_second() -> None:
    assert peak_per_second([]) == 0
    assert peak_per_second([5.0]) == 1
    assert peak_per_second([0.0, 0.5, 0.99, 1.0, 1.5]) == 3  # [0.5, 1.5) holds 0.5, 0.99, 1.0
    assert peak_per_second([2.0, 0.1, 1.25, 0.2]) == 2  # order does not matter
    assert peak_per_second([0.01 * n for n in range(53)]) == 53


def test_p95_is_the_nearest_rank() -> None:
    assert p95([]) is None
    assert p95([7.0]) == 7.0
    assert p95([float(n) for n in range(1, 101)]) == 95.0
    assert p95([float(n) for n in range(20, 0, -1)]) == 19.0


def test_the_proxy_spreads_over_every_instance_and_listens_on_loopback_only() -> None:
    config = nginx_config(Path("/tmp/x"), 8443, [9001, 9002, 9003])
    assert "listen 127.0.0.1:8443;" in config
    assert all(f"server 127.0.0.1:{port};" in config for port in (9001, 9002, 9003))
    assert "daemon off;" in config and "proxy_pass http://hoso;" in config


def test_the_apology_for_an_error_is_recognised_in_both_languages() -> None:
    for locale in ("vi", "en"):
        assert is_apology(create_i18n().translator(locale)(APOLOGY))
    assert not is_apology("Kết quả tìm <b>092182856436</b>, trang 1:")
