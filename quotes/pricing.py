"""Exact integer pricing of an image job against a credit schedule's ops."""

import math
from dataclasses import dataclass
from fractions import Fraction

PIXELS_PER_MEGAPIXEL = 1_000_000


@dataclass(frozen=True)
class PriceBreakdown:
    per_file: dict[str, dict[str, int]]
    per_file_credits: dict[str, int]
    credits_total: int


def exact(number: int | float | str) -> Fraction:
    """A schedule number as an exact fraction; a float goes through its shortest decimal
    text, so 0.1 is 1/10, not the binary float's 3602879701896397/36028797018963968."""
    if isinstance(number, int):
        return Fraction(number)
    return Fraction(str(number))


def op_credits(*, base_credits: int, credits_per_megapixel, width: int, height: int) -> int:
    """base + ceil(credits_per_megapixel * width * height / 1_000_000), in exact arithmetic."""
    megapixels = Fraction(width * height, PIXELS_PER_MEGAPIXEL)
    return int(base_credits) + math.ceil(exact(credits_per_megapixel) * megapixels)


def price_job(*, schedule_ops: dict, files: list[dict], ops: dict) -> PriceBreakdown:
    """Price every requested op on every file. Deterministic: same input, same integers.

    `files` items need id, width and height; `ops` keys must exist in `schedule_ops`
    (validated upstream; a KeyError here is a programming error).
    """
    per_file: dict[str, dict[str, int]] = {}
    per_file_credits: dict[str, int] = {}
    for file in files:
        file_id = str(file["id"])
        prices = {
            op: op_credits(
                base_credits=schedule_ops[op]["base_credits"],
                credits_per_megapixel=schedule_ops[op]["credits_per_megapixel"],
                width=file["width"],
                height=file["height"],
            )
            for op in sorted(ops)
        }
        per_file[file_id] = prices
        per_file_credits[file_id] = sum(prices.values())
    return PriceBreakdown(
        per_file=per_file,
        per_file_credits=per_file_credits,
        credits_total=sum(per_file_credits.values()),
    )
