"""A realistic DMS export for the DMS import's benchmark and tests: years of a store's sales and service.

`write_export(path, rows=N, kind=...)` writes one kind of file; kind "sales_and_service" writes the mix a store
sends first (about a third deal rows, two thirds RO operation lines) as two files beside `path`
(`<stem>_sales.csv`, `<stem>_repair_orders.csv`), from the same customers and vehicles, so the import matches
them. Customers repeat as in life: a few come in every few months, most once or twice. VINs carry a correct check
digit; about 2 % of phones and emails are the junk a DMS holds ("000-000-0000", "none@none"), which the reader
turns into row warnings, not refusals. Deterministic for a seed; written a row at a time (flat memory).

Usable from the command line too: `python bench/dms_export.py OUT.csv --rows 100000 --kind sales_and_service
[--preset "CDK Drive"]`.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dms.presets import DOCUMENTED, FIELDS, PRESETS  # noqa: E402
from leads.vin import MODEL_YEAR_CODES, with_check_digit  # noqa: E402

FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Maria", "Wei", "Aisha", "José", "Nguyen", "Priya", "Sean", "Zoë")
LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Lee", "O'Brien", "Nguyen", "Patel", "Kowalski", "Murphy", "Cohen", "Silva", "Kim", "St. Pierre")
CITIES = (("Salem", "MA", "01970"), ("Lynn", "MA", "01901"), ("Peabody", "MA", "01960"), ("Nashua", "NH", "03060"),
          ("Beverly", "MA", "01915"), ("Danvers", "MA", "01923"))
AREA_CODES = ("617", "508", "978", "781", "603")
# Make, model, trims, WMI, price band (dollars).
VEHICLES = (
    ("Honda", "CR-V", ("LX", "EX", "EX-L"), "2HK", 28_000, 38_000),
    ("Honda", "Accord", ("LX", "Sport", "Touring"), "1HG", 27_000, 39_000),
    ("Toyota", "RAV4", ("LE", "XLE", "Limited"), "2T3", 29_000, 40_000),
    ("Toyota", "Camry", ("LE", "SE", "XSE"), "4T1", 26_000, 36_000),
    ("Ford", "F-150", ("XL", "XLT", "Lariat"), "1FT", 36_000, 65_000),
    ("Chevrolet", "Equinox", ("LS", "LT", "RS"), "2GN", 27_000, 35_000),
)
OPERATIONS = (("01LOFZ", "LOF synthetic 0W-20, inspect", 89_95), ("02ROT", "Rotate and balance tires", 49_95),
              ("03BRKF", "Replace front pads and rotors", 489_00), ("04ALGN", "Four-wheel alignment", 129_95),
              ("05BATT", "Test and replace battery", 219_00), ("06CABF", "Replace cabin air filter", 69_95),
              ("07MPI", "Multi-point inspection", 0), ("08RCL", "Perform recall campaign", 0),
              ("09WIPR", "Replace wiper blades", 39_95), ("10COUP", "Coupon discount", -20_00))
ADVISORS = ("Sam Ortiz", "Dana Whitfield", "Chris Novak", "Lee Tran")
LENDERS = ("Honda Financial Services", "Toyota Financial Services", "Ally Financial", "Chase Auto",
           "Ford Credit", "Digital Federal Credit Union")
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
START = date(2019, 1, 1)
END = date(2026, 11, 30)
KINDS = ("customers", "sales", "repair_orders", "appointments", "sales_and_service")


class _Store:
    """The people and cars the export describes, drawn lazily from one seeded random source."""

    def __init__(self, rng: random.Random, customers: int):
        self.rng = rng
        self.customer_count = max(customers, 1)
        self._vehicles: dict[int, list[dict]] = {}
        self._ro = 100_000
        self._deal = 50_000
        self._appointment = 0

    def customer(self, number: int) -> dict:
        rng = random.Random(number * 7919)  # a customer is the same on every row that names them
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, region, postal = rng.choice(CITIES)
        junk = rng.random() < 0.02
        phone = "000-000-0000" if junk else f"({rng.choice(AREA_CODES)}) {rng.randint(201, 989)}-{rng.randint(0, 9999):04d}"
        local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and (ch.isalnum() or ch == "."))
        email = "none@none" if junk else f"{local}{number}@example.com"
        return {"customer_number": f"C{number:07d}", "first_name": first, "last_name": last,
                "street": f"{rng.randint(1, 999)} {rng.choice(('Main', 'Elm', 'Summer', 'Highland'))} St",
                "city": city, "region": region, "postal_code": postal, "email": email, "phone": phone}

    def pick_customer(self) -> int:
        # Skewed: a tenth of the customers bring about half the visits, as a service lane's regulars do.
        if self.rng.random() < 0.5:
            return self.rng.randint(1, max(self.customer_count // 10, 1))
        return self.rng.randint(1, self.customer_count)

    def vehicle(self, number: int, *, new: bool = False) -> dict:
        garage = self._vehicles.setdefault(number, [])
        if garage and not new:
            return self.rng.choice(garage)
        make, model, trims, wmi, low, high = self.rng.choice(VEHICLES)
        year = self.rng.randint(2012, 2026)
        vds = "".join(self.rng.choice(VIN_CHARS) for _ in range(5))
        vin = with_check_digit(f"{wmi}{vds}0{MODEL_YEAR_CODES[year]}{self.rng.choice('ABCDKLMU')}"
                               f"{self.rng.randint(0, 999_999):06d}")
        car = {"vin": vin, "year": str(year), "make": make, "model": model, "trim": self.rng.choice(trims),
               "price": self.rng.randint(low, high)}
        if len(garage) < 3:
            garage.append(car)
        return car

    def day(self, *, model_year: int | None = None) -> date:
        """A day in the export's years, not before the car's model year went on sale (the summer before)."""
        first = max(START, date(model_year - 1, 7, 1)) if model_year else START
        return first + timedelta(days=self.rng.randint(0, max((END - first).days, 0)))

    def sale(self) -> dict:
        number = self.pick_customer()
        car = self.vehicle(number, new=True)
        sold_on = self.day(model_year=int(car["year"]))
        self._deal += 1
        deal_type = self.rng.choices(("cash", "finance", "lease"), weights=(20, 55, 25))[0]
        price = car["price"] * 100
        row = {**self.customer(number), "deal_number": f"{self._deal}", "sold_on": sold_on, "vin": car["vin"],
               "year": car["year"], "make": car["make"], "model": car["model"], "trim": car["trim"],
               "mileage": str(self.rng.randint(5, 60) if int(car["year"]) >= 2025 else self.rng.randint(8_000, 90_000)),
               "price": price, "new_used": "New" if int(car["year"]) >= 2025 else "Used", "deal_type": deal_type.title()}
        if deal_type != "cash":
            term = self.rng.choice((36, 48, 60, 72, 84)) if deal_type == "finance" else self.rng.choice((24, 36, 39))
            financed = int(price * self.rng.uniform(0.6, 1.05))
            row.update({"lender": self.rng.choice(LENDERS), "amount_financed": financed,
                        "apr": f"{self.rng.choice((0, 0.9, 1.9, 3.9, 5.9, 7.49, 9.99, 14.5)):.2f}",
                        "term_months": str(term), "payment": financed // term,
                        "first_payment_on": sold_on + timedelta(days=45),
                        "maturity_on": sold_on + timedelta(days=45 + 30 * (term - 1))})
            if deal_type == "lease":
                row.update({"residual": int(price * self.rng.uniform(0.5, 0.65)),
                            "miles_per_year": str(self.rng.choice((10_000, 12_000, 15_000)))})
        if self.rng.random() < 0.45:
            trade = self.vehicle(number + self.customer_count)  # someone else's old car, never this customer's new one
            row.update({"trade1_vin": trade["vin"], "trade1_year": trade["year"], "trade1_make": trade["make"],
                        "trade1_model": trade["model"], "trade1_mileage": str(self.rng.randint(20_000, 160_000)),
                        "trade1_allowance": trade["price"] * 40, "trade1_payoff": self.rng.choice((0, trade["price"] * 20))})
        return row

    def repair_order(self) -> list[dict]:
        """One RO as its operation lines (1 to 4), each row repeating the RO's columns as DMS exports do."""
        number = self.pick_customer()
        car = self.vehicle(number)
        opened = self.day(model_year=int(car["year"]))
        self._ro += 1
        operations = self.rng.sample(OPERATIONS, self.rng.randint(1, 4))
        total = sum(cents for _, _, cents in operations)
        head = {**self.customer(number), "ro_number": f"{self._ro}", "opened_on": opened,
                "closed_on": opened + timedelta(days=self.rng.choice((0, 0, 0, 1, 2, 5))), "vin": car["vin"],
                "year": car["year"], "make": car["make"], "model": car["model"],
                "mileage_in": str(self.rng.randint(1_000, 150_000)), "total": total,
                "advisor": self.rng.choice(ADVISORS)}
        return [{**head, "op_code": code, "op_description": text, "op_amount": cents}
                for code, text, cents in operations]

    def appointment(self) -> dict:
        number = self.pick_customer()
        car = self.vehicle(number)
        self._appointment += 1
        department = self.rng.choices(("Service", "Sales"), weights=(85, 15))[0]
        day = self.day(model_year=int(car["year"]))
        return {**self.customer(number), "appointment_number": f"A{self._appointment:08d}", "scheduled_at": day,
                "scheduled_time": f"{self.rng.randint(7, 17):02d}:{self.rng.choice((0, 15, 30, 45)):02d}",
                "department": department, "kind": "Test drive" if department == "Sales" else "Oil change",
                "vin": car["vin"], "notes": "Waiter" if self.rng.random() < 0.3 else ""}


def _columns(kind: str, preset: str) -> list[tuple[str, str]]:
    mapping = PRESETS[preset][kind]
    return [(f.name, mapping[f.name]) for f in FIELDS[kind] if f.name in mapping]


def _cell(value: object, *, us_dates: bool) -> str:
    if isinstance(value, date):
        return value.strftime("%m/%d/%Y") if us_dates else value.isoformat()
    if isinstance(value, int):  # amounts in cents
        sign = "-" if value < 0 else ""
        return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"
    return str(value)


def _write(path: Path, kind: str, rows: Iterator[dict], *, preset: str) -> int:
    columns = _columns(kind, preset)
    us_dates = preset != DOCUMENTED
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([header for _, header in columns])
        names = {name for name, _ in columns}
        for row in rows:
            if "scheduled_time" in row and "scheduled_time" not in names:  # one date-time column in this layout
                row = {**row, "scheduled_at": f"{_cell(row['scheduled_at'], us_dates=us_dates)} {row['scheduled_time']}"}
            writer.writerow([_cell(row.get(name, ""), us_dates=us_dates) for name, _ in columns])
            count += 1
    return count


def write_export(path: str | Path, *, rows: int, kind: str, seed: int = 1, preset: str = DOCUMENTED) -> list[Path]:
    """Write `rows` data rows of `kind` (see the module doc) in `preset`'s layout; the files written."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    path = Path(path)
    rng = random.Random(seed)
    store = _Store(rng, customers=max(rows // 4, 1))

    def repair_lines(limit: int) -> Iterator[dict]:
        written = 0
        while written < limit:
            for line in store.repair_order()[:limit - written]:
                written += 1
                yield line

    if kind == "sales_and_service":
        sales_rows = rows // 3
        sales_path = path.with_name(f"{path.stem}_sales.csv")
        ro_path = path.with_name(f"{path.stem}_repair_orders.csv")
        _write(sales_path, "sales", (store.sale() for _ in range(sales_rows)), preset=preset)
        _write(ro_path, "repair_orders", repair_lines(rows - sales_rows), preset=preset)
        return [sales_path, ro_path]
    if kind == "customers":
        source: Iterator[dict] = (store.customer(n) for n in range(1, rows + 1))
    elif kind == "sales":
        source = (store.sale() for _ in range(rows))
    elif kind == "repair_orders":
        source = repair_lines(rows)
    else:
        source = (store.appointment() for _ in range(rows))
    _write(path, kind, source, preset=preset)
    return [path]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--kind", choices=KINDS, default="sales_and_service")
    parser.add_argument("--preset", choices=list(PRESETS), default=DOCUMENTED)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for written in write_export(args.path, rows=args.rows, kind=args.kind, seed=args.seed, preset=args.preset):
        print(written)


if __name__ == "__main__":
    main()
