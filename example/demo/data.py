"""The demo's input data: generated, reproducible, and a little dirty on purpose."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

REGIONS = ("North", "South", "East", "West")
ACCOUNTS = ("401000", "411000", "445660", "512000", "607000", "707000")


def recipients(count: int) -> list[str]:
    """Newsletter subscribers; every tenth address is invalid."""
    return [
        f"customer{idx}@example.com" if idx % 10 else f"customer{idx}.example.com"
        for idx in range(1, count + 1)
    ]


def ean13_check_digit(first12: str) -> int:
    """The EAN-13 check digit of twelve digits."""
    total = sum(int(digit) * (3 if pos % 2 else 1) for pos, digit in enumerate(first12))
    return (10 - total % 10) % 10


def write_edi_orders(path: Path, lines: int, seed: int = 7) -> int:
    """Write an EDIFACT-like ORDERS file of ``lines`` order lines; return how many are malformed.

    A good line reads ``LIN+<n>+<ean13>:EN+QTY:<qty>+PRI:<price>'``. About one in
    eight is broken: a wrong check digit, a quantity that is not a number, or a
    missing segment.
    """
    rng = random.Random(seed)
    broken = 0
    rows = ["UNH+1+ORDERS:D:96A:UN'"]
    for number in range(1, lines + 1):
        first12 = "".join(str(rng.randrange(10)) for _ in range(12))
        ean = f"{first12}{ean13_check_digit(first12)}"
        qty = str(rng.randint(1, 50))
        price = f"{rng.randint(100, 9999) / 100:.2f}"
        flaw = rng.randrange(8) if number > 1 else 1
        if flaw == 0:
            broken += 1
            defect = rng.choice(("checksum", "quantity", "segment"))
            if defect == "checksum":
                ean = f"{first12}{(ean13_check_digit(first12) + 1) % 10}"
            elif defect == "quantity":
                qty = "ten"
            else:
                rows.append(f"LIN+{number}+{ean}:EN+QTY:{qty}'")
                continue
        rows.append(f"LIN+{number}+{ean}:EN+QTY:{qty}+PRI:{price}'")
    rows.append(f"UNT+{lines + 2}+1'")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return broken


@dataclass(frozen=True)
class OrderLine:
    number: int
    ean: str
    quantity: int
    unit_price: Decimal


def parse_order_line(text: str) -> OrderLine:
    """Parse one ``LIN`` line.

    Raises:
        ValueError: the line is malformed (the message says why).
    """
    segments = text.rstrip("'").split("+")
    if len(segments) != 5 or segments[0] != "LIN":
        raise ValueError(f"expected 5 segments, got {len(segments)}")
    _, number, item, qty, price = segments
    ean, _, kind = item.partition(":")
    if kind != "EN" or len(ean) != 13 or not ean.isdigit():
        raise ValueError(f"not an EAN-13 item: {item!r}")
    if ean13_check_digit(ean[:12]) != int(ean[12]):
        raise ValueError(f"bad EAN-13 check digit: {ean}")
    if not qty.startswith("QTY:") or not qty[4:].isdigit():
        raise ValueError(f"bad quantity: {qty!r}")
    if not price.startswith("PRI:"):
        raise ValueError(f"bad price: {price!r}")
    return OrderLine(int(number), ean, int(qty[4:]), Decimal(price[4:]))


@dataclass(frozen=True)
class Sale:
    month: str
    region: str
    amount: Decimal


def sales(count: int, year: int = 2025, seed: int = 11) -> list[Sale]:
    """``count`` sales spread over a year and the four regions."""
    rng = random.Random(seed)
    return [
        Sale(
            f"{year}-{rng.randint(1, 12):02d}",
            rng.choice(REGIONS),
            Decimal(rng.randint(1000, 500000)) / 100,
        )
        for _ in range(count)
    ]


@dataclass(frozen=True)
class JournalEntry:
    reference: str
    date: str
    lines: tuple[tuple[str, Decimal, Decimal], ...]  # (account, debit, credit)


def journal_entries(period: str, count: int, seed: int = 3) -> list[JournalEntry]:
    """Balanced journal entries of the month ``period`` (``YYYY-MM``)."""
    rng = random.Random(seed)
    entries = []
    for idx in range(1, count + 1):
        amount = Decimal(rng.randint(100, 200000)) / 100
        vat = (amount * Decimal("0.20")).quantize(Decimal("0.01"))
        debit, credit = rng.sample(ACCOUNTS, 2)
        entries.append(
            JournalEntry(
                f"JE{period.replace('-', '')}{idx:05d}",
                f"{period}-{rng.randint(1, 28):02d}",
                (
                    (debit, amount + vat, Decimal(0)),
                    (credit, Decimal(0), amount),
                    ("445710", Decimal(0), vat),
                ),
            )
        )
    return entries
