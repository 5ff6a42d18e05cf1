"""The benchmark's generated DMS export (bench/dms_export.py) reads cleanly through dms.files, presets and records:
the reading layer end to end, pure."""

from collections import Counter
from datetime import date

import pytest

from bench.dms_export import write_export
from dms.files import open_table
from dms.presets import PRESETS, kind_guess, mapping_resolve
from dms.records import RepairOrderRecord, RowError, SaleRecord, record_fingerprint, record_read


def read_all(path, kind):
    table = open_table(str(path), name=path.name)
    guessed_kind, preset, score = kind_guess(table.headers)
    assert guessed_kind == kind and score == 1.0
    resolved = mapping_resolve(table.headers, preset, kind=kind)
    assert resolved.ok and resolved.unmapped == ()
    return preset, [record_read(kind, line, values, resolved, today=date(2026, 12, 5)) for line, values in table.rows()]


@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_generated_sales_and_service_export_reads_without_a_refused_row(tmp_path, preset):
    sales_path, ro_path = write_export(tmp_path / "store.csv", rows=900, kind="sales_and_service", preset=preset)
    guessed, sales = read_all(sales_path, "sales")
    assert guessed == preset
    _, lines = read_all(ro_path, "repair_orders")
    assert (len(sales), len(lines)) == (300, 600)
    assert not [r for r in sales + lines if isinstance(r, RowError)]
    assert all(isinstance(r, SaleRecord) for r in sales) and all(isinstance(r, RepairOrderRecord) for r in lines)
    assert {r.deal_type for r in sales} == {"cash", "finance", "lease"}
    assert any(r.trade_ins for r in sales)
    # Customers repeat as in life, ROs span several operation lines, and the service lane sees the sold cars.
    visits = Counter(r.customer.dms_number for r in sales + lines)
    assert visits.most_common(1)[0][1] >= 5 and len(visits) < 900
    assert max(Counter(r.ro_number for r in lines).values()) > 1
    assert {r.vin for r in sales} & {r.vin for r in lines}
    warnings = [w for r in sales + lines for w in r.warnings]
    assert all(w.startswith(("Phone left out", "Email left out")) for w in warnings)


def test_the_export_is_the_same_for_a_seed(tmp_path):
    first = write_export(tmp_path / "a.csv", rows=50, kind="sales", seed=7)[0].read_bytes()
    again = write_export(tmp_path / "b.csv", rows=50, kind="sales", seed=7)[0].read_bytes()
    other = write_export(tmp_path / "c.csv", rows=50, kind="sales", seed=8)[0].read_bytes()
    assert first == again != other


@pytest.mark.parametrize("kind", ["customers", "appointments"])
def test_the_other_kinds_read_too(tmp_path, kind):
    for preset in PRESETS:
        (path,) = write_export(tmp_path / f"{kind}.csv", rows=40, kind=kind, preset=preset)
        _, records = read_all(path, kind)
        assert len(records) == 40 and not [r for r in records if isinstance(r, RowError)], preset
        assert len({record_fingerprint(r) for r in records}) == 40
