"""Pricing: base + ceil(credits_per_megapixel * megapixels), exact integers."""

import pytest

from quotes.pricing import PriceBreakdown, op_credits, price_job

SCHEDULE_OPS = {
    "upscale": {"base_credits": 2, "credits_per_megapixel": 4},
    "resize": {"base_credits": 0, "credits_per_megapixel": 0.5},
    "tenth": {"base_credits": 1, "credits_per_megapixel": 0.1},
    "free": {"base_credits": 0, "credits_per_megapixel": 0},
}


@pytest.mark.parametrize(
    ("op", "width", "height", "expected"),
    [
        # exactly 1 MP: no rounding up
        ("upscale", 1000, 1000, 2 + 4),
        # one row over 1 MP: 4.004 -> 5
        ("upscale", 1001, 1000, 2 + 5),
        # one pixel over 1 MP: 4.000004 -> 5
        ("upscale", 1_000_001, 1, 2 + 5),
        # one pixel under: 3.999996 -> 4
        ("upscale", 999_999, 1, 2 + 4),
        # tiny image still costs a full credit of the per-MP part
        ("upscale", 1, 1, 2 + 1),
        # 0.5/MP at exactly 2 MP -> 1, at 2 MP + 1 px -> 2
        ("resize", 2000, 1000, 1),
        ("resize", 2_000_001, 1, 2),
        ("resize", 1_999_999, 1, 1),
        # 0.1/MP must be the decimal 0.1: 10 MP -> exactly 1 (float would give 1.0000000000000002)
        ("tenth", 10_000, 1000, 1 + 1),
        ("tenth", 30_000, 1000, 1 + 3),
        ("tenth", 10_000_001, 1, 1 + 2),
        # zero rate: base only
        ("free", 8000, 8000, 0),
        # big image: 12 MP 4000x3000 at 4/MP = 48
        ("upscale", 4000, 3000, 2 + 48),
    ],
)
def test_op_credits_table(op, width, height, expected):
    entry = SCHEDULE_OPS[op]
    assert (
        op_credits(
            base_credits=entry["base_credits"],
            credits_per_megapixel=entry["credits_per_megapixel"],
            width=width,
            height=height,
        )
        == expected
    )


def test_price_job_breakdown_per_file_and_total():
    files = [
        {"id": "a", "width": 1000, "height": 1000},
        {"id": "b", "width": 2000, "height": 1500},
    ]
    result = price_job(schedule_ops=SCHEDULE_OPS, files=files, ops={"upscale": True, "resize": {}})

    assert result == PriceBreakdown(
        per_file={"a": {"resize": 1, "upscale": 6}, "b": {"resize": 2, "upscale": 14}},
        per_file_credits={"a": 7, "b": 16},
        credits_total=23,
    )
    assert all(isinstance(v, int) for v in result.per_file_credits.values())


def test_price_job_is_deterministic_and_frozen():
    files = [{"id": str(i), "width": 1234 + i, "height": 987} for i in range(20)]
    first = price_job(schedule_ops=SCHEDULE_OPS, files=files, ops={"tenth": True})
    second = price_job(schedule_ops=SCHEDULE_OPS, files=list(reversed(files)), ops={"tenth": 1})

    assert first.per_file == second.per_file
    assert first.credits_total == second.credits_total
    with pytest.raises(AttributeError):
        first.credits_total = 0
