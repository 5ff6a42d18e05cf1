"""Reads of the dashboards: every figure of the registry for a scope, this period and the previous one.

One SQL statement per rollup answers all of a page's counts and ratios for that rollup (GROUPING SETS: the
totals and each breakdown in a single scan); one more per array column answers its exact percentiles.
Only aggregated rows come back to Python, never leads.
"""

from __future__ import annotations

import contextvars
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django.db import connection, connections, router, transaction

from kpis.definitions import (
    FACTS, SECTIONS, Computed, Count, Fact, Figure, Measure, Percentile, Ratio, Section,
    available_measures, section_measures, source_label,
)
from kpis.models import RollupState
from kpis.scope import UNASSIGNED, Scope
from kpis.speed import locate_rank, percentile_rank

TOTAL = "__total__"
PERIOD_CURRENT, PERIOD_PREVIOUS = "current", "previous"


@dataclass(frozen=True)
class Value:
    """One figure: this period, the previous period of equal length, and the counts behind a ratio."""

    current: float | None
    previous: float | None = None
    numerator: float | None = None
    denominator: float | None = None

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def change_ratio(self) -> float | None:
        if self.current is None or not self.previous:
            return None
        return (self.current - self.previous) / self.previous


EMPTY = Value(None, None)


@dataclass
class Row:
    key: object  # the group's value: source code, person id, rooftop id, kind, day; or the measure key
    label: str
    values: dict[str, Value]
    scope: Scope | None = None  # the scope of this row's drill-down, when it has one


@dataclass
class FigureResult:
    figure: Figure
    measures: list[Measure]
    rows: list[Row]
    dimension_label: str

    @property
    def has_data(self) -> bool:
        return any(v.current not in (None, 0) for row in self.rows for v in row.values.values())

    @property
    def wide(self) -> bool:
        """Too many columns to sit beside a chart: the chart goes above the table."""
        return len(self.measures) > 7


@dataclass
class SectionResult:
    section: Section
    cards: list[tuple[Measure, Value]]
    figures: list[FigureResult]

    @property
    def has_data(self) -> bool:
        cards = any(value.current not in (None, 0) or value.denominator for _, value in self.cards)
        return cards or any(f.has_data for f in self.figures)


@dataclass
class Dashboard:
    scope: Scope
    sections: list[SectionResult]
    refreshed_at: object = None
    measures: dict[str, Measure] = field(default_factory=dict)


DIMENSION_LABELS = {"source": "Source", "person": "Person", "rooftop": "Rooftop", "kind": "Alert kind",
                    "trend": "Period", None: "Measure"}


# --- SQL over the rollups --------------------------------------------------------------------------------

KEY_COLUMNS = {"source": "source", "person": "person_id", "rooftop": "rooftop_id", "kind": "kind"}
NULL_KEY = "\u2205"  # stands for NULL in hash-joined keys (IS NOT DISTINCT FROM cannot hash)


def _dimension_sql(dimension: str, scope: Scope) -> str:
    if dimension == "trend":
        return f"date_trunc('{scope.trend_grain}', day::timestamp)::date"
    return KEY_COLUMNS[dimension]


def _filter_keys(fact: Fact, scope: Scope) -> set[str]:
    keys = set()
    if scope.source is not None:
        keys.add("source")
    if scope.person_id is not None:
        keys.add("person")
    if scope.kind is not None and "kind" in fact.dimensions:
        keys.add("kind")
    return keys


def _plan(fact: Fact, scope: Scope, dimensions: Iterable[str | None]) -> dict[str, list[str | None]]:
    """Which grain (table) answers which breakdowns: the smallest with every key needed. None = the totals."""
    plan: dict[str, list[str | None]] = defaultdict(list)
    filters = _filter_keys(fact, scope)
    for dimension in dimensions:
        needs = set(filters)
        if dimension in ("source", "person", "kind"):
            needs.add(dimension)
        plan[fact.grain_for(needs).table].append(dimension)
    return plan


def _where(fact: Fact, scope: Scope, *, current_only: bool = False, alias: str = "",
           months: bool = True) -> tuple[str, dict]:
    """The scope as SQL: rooftops, days (whole months from month rows when `months`), source, person, kind."""
    a = f"{alias}." if alias else ""
    params: dict = {"rooftops": scope.rooftop_ids, "start": scope.start}
    clauses = [f"{a}rooftop_id = ANY(%(rooftops)s)"]
    ranges, whole_months = scope.day_ranges_and_months(with_previous=not current_only)
    if not months:
        ranges, whole_months = [(scope.start if current_only else scope.previous.start, scope.end)], []
    days = " OR ".join(f"{a}day BETWEEN %(from_{i})s AND %(to_{i})s" for i in range(len(ranges)))
    for i, (first, last) in enumerate(ranges):
        params[f"from_{i}"], params[f"to_{i}"] = first, last
    parts = [f"(NOT {a}is_month AND ({days}))"] if ranges else []
    if whole_months:
        parts.append(f"({a}is_month AND {a}day = ANY(%(months)s))")
        params["months"] = whole_months
    clauses.append("(" + " OR ".join(parts) + ")")
    if scope.source is not None:
        clauses.append(f"{a}source = %(source)s")
        params["source"] = scope.source
    if scope.person_id is not None:
        if scope.person_id == UNASSIGNED:
            clauses.append(f"{a}person_id IS NULL")
        else:
            clauses.append(f"{a}person_id = %(person)s")
            params["person"] = scope.person_id
    if scope.kind is not None and "kind" in fact.dimensions:
        clauses.append(f"{a}kind = %(kind)s")
        params["kind"] = scope.kind
    return " AND ".join(clauses), params


def _months_usable(groups: Iterable[str | None], scope: Scope) -> bool:
    # A daily or weekly trend needs day rows; everything else can read whole months from month rows.
    return "trend" not in groups or scope.trend_grain == "month"


def _grouping(dimensions: list[str], scope: Scope, *, with_total: bool) -> tuple[str, str]:
    """SELECT columns telling which grouping set a row belongs to, and the GROUP BY clause."""
    if not dimensions:
        return "", ""
    exprs = [_dimension_sql(d, scope) for d in dimensions]
    select = "".join(f"GROUPING({e}) AS g_{d}, {e} AS k_{d}, " for d, e in zip(dimensions, exprs))
    sets = ", ".join((["()"] if with_total else []) + [f"({e})" for e in exprs])
    return select, f"GROUP BY GROUPING SETS ({sets})"


def _row_group(row: dict, dimensions: list[str]) -> tuple[str | None, object]:
    for d in dimensions:
        if row[f"g_{d}"] == 0:
            return d, row[f"k_{d}"]
    return None, TOTAL


def _reading_alias() -> str:
    """Where the rollups are read: the read replica inside a replica-read scope (crm/db_router.py), else the
    primary. Chosen before the read-only transaction opens, and the transaction is opened there."""
    return router.db_for_read(RollupState)


def _read_settings(cursor) -> None:
    """Settings local to a dashboard's read-only transaction, in one round trip: percentile sorts stay in
    memory, and no statement starts parallel workers (each reads a few thousand rollup rows, less than the
    cost of starting workers on a busy machine; the planner guessed otherwise for the alert rows)."""
    cursor.execute("SELECT set_config('work_mem', '64MB', true), "
                   "set_config('max_parallel_workers_per_gather', '0', true)")


def _fetch(sql: str, params: dict) -> list[dict]:
    with connections[_reading_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, r)) for r in cursor.fetchall()]


def _sums(fact: Fact, table: str, scope: Scope, groups: list[str | None], columns: set[str]) -> dict:
    """{(dimension, group): {column: (current, previous)}} for the totals and breakdowns, in one scan."""
    where, params = _where(fact, scope, months=_months_usable(groups, scope))
    dimensions = sorted(d for d in groups if d is not None)
    select, group_by = _grouping(dimensions, scope, with_total=None in groups)
    cols = sorted(columns)
    sums = ", ".join(
        f"sum({c}) FILTER (WHERE day >= %(start)s) AS c_{c}, sum({c}) FILTER (WHERE day < %(start)s) AS p_{c}"
        for c in cols
    )
    rows = _fetch(f"SELECT {select}{sums} FROM {table} WHERE {where} {group_by}", params)
    out: dict = {}
    for row in rows:
        out[_row_group(row, dimensions)] = {c: (row[f"c_{c}"] or 0, row[f"p_{c}"] or 0) for c in cols}
    return out


def _percentiles_sorted(fact: Fact, table: str, scope: Scope, groups: list[str | None], arrays: list[str],
                        fractions: list[float]) -> dict:
    """percentile_cont over the unnested values of small arrays (alert claim and act times): every array,
    the totals and the breakdowns, this period and the previous, in one statement."""
    where, params = _where(fact, scope, months=_months_usable(groups, scope))
    params["fractions"] = fractions
    dimensions = sorted(d for d in groups if d is not None)
    select, group_by = _grouping(dimensions, scope, with_total=None in groups)
    values = " UNION ALL ".join(f"SELECT {i} AS a, v FROM unnest({array}) AS v" for i, array in enumerate(arrays))
    aggregates = ", ".join(
        f"percentile_cont(%(fractions)s::float8[]) WITHIN GROUP (ORDER BY x.v) "
        f"FILTER (WHERE x.a = {i} AND day {op} %(start)s) AS {period}_{i}"
        for i in range(len(arrays)) for period, op in (("cur", ">="), ("prev", "<"))
    )
    sql = f"SELECT {select}{aggregates} FROM {table} CROSS JOIN LATERAL ({values}) AS x WHERE {where} {group_by}"
    out: dict = {}
    for row in _fetch(sql, params):
        found = {}
        for i, array in enumerate(arrays):
            for period, key in ((PERIOD_CURRENT, "cur"), (PERIOD_PREVIOUS, "prev")):
                for fraction, value in zip(fractions, row[f"{key}_{i}"] or [None] * len(fractions)):
                    found[(array, fraction, period)] = value
        out[_row_group(row, dimensions)] = found
    return out


def _percentiles_by_bucket(fact: Fact, table: str, scope: Scope, groups: list[str | None], formula: Percentile,
                           fractions: list[float], sums: dict) -> dict:
    """Exact percentiles (the same answer as percentile_cont) that sort only the bucket each one falls in.

    The bucket counts, already summed per group, say which bucket holds the two ranks percentile_cont
    interpolates between, and their positions inside it. SQL then cuts just that bucket's slice out of each
    row's sorted array (via the running counts) and numbers those values: a year of a ten-rooftop group sorts
    a few thousand values per percentile instead of half a million. The totals get this period and the
    previous one; breakdowns this period.
    """
    out: dict = defaultdict(dict)
    for dimension in groups:
        targets = []  # (group key, period, fraction, which, bucket, position inside the bucket, weight)
        periods = (PERIOD_CURRENT, PERIOD_PREVIOUS) if dimension is None else (PERIOD_CURRENT,)
        for group, columns in sums.items():
            if group[0] != dimension:
                continue
            for period in periods:
                index = 0 if period == PERIOD_CURRENT else 1
                counts = [columns[c][index] for c in formula.histogram]
                for fraction in fractions:
                    target = percentile_rank(fraction, sum(counts))
                    if target is None:
                        continue
                    for which, rank in (("lo", target.lower_rank), ("hi", target.upper_rank)):
                        bucket, inside = locate_rank(counts, rank)
                        targets.append((group[1], period, fraction, which, bucket, inside, target.weight))
        if not targets:
            continue
        # One slice per (group, period, bucket); the positions wanted inside each.
        slices = sorted({(_key_text(key), period, bucket) for key, period, _, _, bucket, _, _ in targets})
        slice_ids = {s: i for i, s in enumerate(slices)}
        wanted = sorted({(slice_ids[(_key_text(key), period, bucket)], inside)
                         for key, period, _, _, bucket, inside, _ in targets})
        where, params = _where(fact, scope, current_only=dimension is not None, alias="r")
        if dimension is None:
            key_sql = "''"
        elif dimension == "trend":
            key_sql = f"date_trunc('{scope.trend_grain}', r.day::timestamp)::date::text"
        else:
            key_sql = f"coalesce(r.{KEY_COLUMNS[dimension]}::text, '{NULL_KEY}')"
        params.update({
            "slice_ids": list(range(len(slices))), "slice_keys": [k for k, _, _ in slices],
            "slice_current": [p == PERIOD_CURRENT for _, p, _ in slices], "slice_buckets": [b for _, _, b in slices],
            "wanted_ids": [i for i, _ in wanted], "wanted_positions": [p for _, p in wanted],
        })
        arr, cum = formula.array, formula.cumulative
        # Each slice's values are gathered sorted in one array and the wanted positions read from it: one sort
        # of the values in the buckets the percentiles fall in, nothing else.
        sql = f"""
WITH t AS (SELECT * FROM unnest(%(slice_ids)s::int[], %(slice_keys)s::text[], %(slice_current)s::bool[],
                                %(slice_buckets)s::int[]) AS t(id, key, is_current, bucket)),
sliced AS (
    SELECT t.id, array_agg(v ORDER BY v) AS vs
    FROM {table} r
    JOIN t ON t.key = {key_sql} AND t.is_current = (r.day >= %(start)s)
    CROSS JOIN LATERAL unnest(r.{arr}[r.{cum}[t.bucket + 1] + 1 : r.{cum}[t.bucket + 2]]) AS v
    WHERE {where} AND r.{cum}[t.bucket + 2] > r.{cum}[t.bucket + 1]
    GROUP BY t.id
)
SELECT w.id, w.position, sliced.vs[w.position] AS v
FROM unnest(%(wanted_ids)s::int[], %(wanted_positions)s::int[]) AS w(id, position)
JOIN sliced ON sliced.id = w.id
"""
        found = {(row["id"], row["position"]): row["v"] for row in _fetch(sql, params)}
        pieces: dict[tuple, dict] = defaultdict(dict)
        for key, period, fraction, which, bucket, inside, weight in targets:
            pieces[(key, period, fraction)][which] = found.get((slice_ids[(_key_text(key), period, bucket)], inside))
            pieces[(key, period, fraction)]["weight"] = weight
        for (key, period, fraction), piece in pieces.items():
            if piece.get("lo") is not None and piece.get("hi") is not None:
                out[(dimension, key)][(formula.array, fraction, period)] = (
                    piece["lo"] + piece["weight"] * (piece["hi"] - piece["lo"]))
    return out


def _key_text(key) -> str:
    if key == TOTAL:
        return ""
    return NULL_KEY if key is None else str(key)


# --- Measures to values ----------------------------------------------------------------------------------

def _columns_of(measure: Measure) -> set[str]:
    formula = measure.formula
    if isinstance(formula, Count):
        return set(formula.plus) | set(formula.minus)
    if isinstance(formula, Ratio):
        return set(formula.numerator) | set(formula.denominator)
    if isinstance(formula, Percentile):
        return set(formula.histogram)
    return set()


def _value(measure: Measure, sums: dict | None, percentiles: dict | None, trend: bool = False) -> Value:
    formula = measure.formula

    def total(columns, index):
        return sum(sums[c][index] for c in columns) if sums else 0

    def pair(index):
        if isinstance(formula, Count):
            return total(formula.plus, index) - total(formula.minus, index), None, None
        if isinstance(formula, Ratio):
            num, den = total(formula.numerator, index), total(formula.denominator, index)
            return (100.0 * num / den if den else None), num, den
        if isinstance(formula, Percentile):
            period = (PERIOD_CURRENT, PERIOD_PREVIOUS)[index]
            raw = (percentiles or {}).get((formula.array, formula.fraction, period))
            return (raw / formula.divisor if raw is not None else None), None, None
        return None, None, None

    current, numerator, denominator = pair(0)
    previous = None if trend else pair(1)[0]
    return Value(current=current, previous=previous, numerator=numerator, denominator=denominator)


def _computed_values(measures: list[Measure], scope: Scope) -> dict[str, Value]:
    """Every computed measure's value; measures answered `together` share one call (one statement)."""
    shared: dict[int, dict[str, list]] = {}
    values = {}
    for measure in measures:
        formula = measure.formula
        assert isinstance(formula, Computed)
        if formula.together is None:
            values[measure.key] = _computed_value(measure, scope)
            continue
        found = shared.get(id(formula.together))
        if found is None:
            found = shared[id(formula.together)] = formula.together(scope)
        values[measure.key] = _both_value(found[formula.part])
    return values


def _both_value(both: list) -> Value:
    (current, numerator, denominator), (previous, _, _) = both
    return Value(current=current, previous=previous, numerator=numerator, denominator=denominator)


def _computed_value(measure: Measure, scope: Scope) -> Value:
    assert isinstance(measure.formula, Computed)
    if measure.formula.together is not None:
        return _both_value(measure.formula.together(scope)[measure.formula.part])
    if measure.formula.compute_both is not None:
        (current, numerator, denominator), (previous, _, _) = measure.formula.compute_both(scope)
    else:
        assert measure.formula.compute is not None
        current, numerator, denominator = measure.formula.compute(scope)
        previous, _, _ = measure.formula.compute(scope.previous)
    return Value(current=current, previous=previous, numerator=numerator, denominator=denominator)


_COMPUTE_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kpi-computed")


def _computed_values_on_own_connection(computed_measures: list[Measure], scope: Scope) -> dict[str, Value]:
    alias = _reading_alias()
    try:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            _read_settings(cursor)
            return _computed_values(computed_measures, scope)
    finally:
        connections[alias].close()  # this thread's connection; the pool thread may be reused for another scope


def _staff_names(user_ids: Iterable[int]) -> dict[int, str]:
    from django.contrib.auth.models import User

    ids = [i for i in user_ids if i]
    names = {}
    for user in User.objects.filter(id__in=ids).select_related("staff_profile"):
        profile = getattr(user, "staff_profile", None)
        names[user.id] = profile.display_name if profile else (user.get_full_name() or user.username)
    return names


def _kind_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize() if kind else "—"


def _trend_label(day: date, grain: str) -> str:
    if grain == "month":
        return day.strftime("%b %Y")
    if grain == "week":
        return f"Week of {day:%b} {day.day}"
    return f"{day:%a %b} {day.day}"


def _row_scope(scope: Scope, dimension: str, key) -> Scope | None:
    if dimension == "source":
        return scope.narrowed(source=key) if key else None
    if dimension == "person":
        return scope.narrowed(person_id=key if key is not None else UNASSIGNED)
    if dimension == "rooftop":
        return scope.narrowed(rooftops=tuple(r for r in scope.rooftops if r.id == key))
    if dimension == "kind":
        return scope.narrowed(kind=key)
    if dimension == "trend":
        if scope.trend_grain == "day":
            last = key
        elif scope.trend_grain == "week":
            last = key + timedelta(days=6)
        else:
            last = (key.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return scope.narrowed(start=max(key, scope.start), end=min(last, scope.end))
    return scope


def _fact_results(
    fact: Fact, scope: Scope, by_dimension: dict[str | None, set[str]], measures: dict[str, Measure], results: dict
) -> None:
    """Fill results[(dimension, group)][measure key] for one rollup: per grain one scan for the sums (totals
    and breakdowns together), then the percentiles."""
    scope = _fact_scope(fact, scope)
    for table, groups in _plan(fact, scope, by_dimension).items():
        keys = set().union(*(by_dimension[g] for g in groups))
        columns = set().union(*(_columns_of(measures[k]) for k in keys))
        sums = _sums(fact, table, scope, groups, columns) if columns else {}
        percentile_values: dict = defaultdict(dict)
        arrays: dict[str, tuple[Percentile, set[float], set]] = {}
        for group in groups:
            for key in by_dimension[group]:
                formula = measures[key].formula
                if isinstance(formula, Percentile):
                    spec = arrays.setdefault(formula.array, (formula, set(), set()))
                    spec[1].add(formula.fraction)
                    spec[2].add(group)
        sorted_arrays = []
        for array, (formula, fractions, array_groups) in arrays.items():
            if formula.histogram and formula.cumulative:
                ordered = sorted(array_groups, key=lambda g: (g is not None, g or ""))
                found = _percentiles_by_bucket(fact, table, scope, ordered, formula, sorted(fractions), sums)
                for group, values in found.items():
                    percentile_values[group].update(values)
            else:
                sorted_arrays.append((array, fractions, array_groups))
        if sorted_arrays:
            fractions = sorted(set().union(*(f for _, f, _ in sorted_arrays)))
            array_groups = set().union(*(g for _, _, g in sorted_arrays))
            found = _percentiles_sorted(fact, table, scope, list(array_groups), [a for a, _, _ in sorted_arrays],
                                        fractions)
            for group, values in found.items():
                percentile_values[group].update(values)
        for group_key in set(sums) | set(percentile_values):
            dimension = group_key[0]
            if dimension not in groups:
                continue
            for key in by_dimension.get(dimension, ()):
                results[group_key][key] = _value(
                    measures[key], sums.get(group_key), percentile_values.get(group_key), trend=dimension == "trend"
                )


def _fact_scope(fact: Fact, scope: Scope) -> Scope:
    """The scope without the filters a rollup has no keys for (its measures are not filtered by them)."""
    if scope.source is not None and "source" not in fact.filters:
        scope = scope.narrowed(source=None)
    if scope.person_id is not None and "person" not in fact.filters:
        scope = scope.narrowed(person_id=None)
    return scope


def _trend_keys(scope: Scope) -> list[date]:
    grain, keys, day = scope.trend_grain, [], scope.start
    if grain == "week":
        day -= timedelta(days=day.weekday())
    elif grain == "month":
        day = day.replace(day=1)
    while day <= scope.end:
        keys.append(day)
        if grain == "day":
            day += timedelta(days=1)
        elif grain == "week":
            day += timedelta(days=7)
        else:
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys


def dashboard_build(*, scope: Scope, sections: Iterable[Section] = SECTIONS, figures: bool = True) -> Dashboard:
    """Every section's cards and figures for the scope, with the previous period for comparison.

    `sections` and `figures=False` (cards only) let a CSV export compute just what it writes."""
    measures = available_measures()
    sections = [s for s in sections if section_measures(s, measures) or any(
        any(k in measures for k in f.measures) for f in s.figures)]
    if not figures:
        sections = [replace(s, figures=()) for s in sections]
    multi = len(scope.rooftops) > 1

    # What to ask each rollup: its measures and the breakdowns they appear in.
    wanted: dict[str, dict[str | None, set[str]]] = defaultdict(lambda: defaultdict(set))
    for section in sections:
        for measure in section_measures(section, measures):
            if measure.fact:
                wanted[measure.fact][None].add(measure.key)
        for figure in section.figures:
            if figure.multi_rooftop_only and not multi:
                continue
            for key in figure.measures:
                measure = measures.get(key)
                if measure and measure.fact:
                    wanted[measure.fact][figure.dimension].add(key)

    results: dict[tuple[str | None, object], dict[str, Value]] = defaultdict(dict)
    computed_measures = [m for section in sections for m in section_measures(section, measures)
                         if isinstance(m.formula, Computed)]
    # Measures over base tables (service retention reads repair orders) run on their own connection while the
    # rollups are read: two PostgreSQL backends, two cores. Inside a transaction (tests) a second connection
    # would not see its data, so they run inline there.
    pending = None
    if computed_measures and not connection.in_atomic_block:
        # In the request's context, so the pool thread reads where the request does (replica or primary).
        pending = _COMPUTE_POOL.submit(contextvars.copy_context().run, _computed_values_on_own_connection,
                                       computed_measures, scope)
    alias = _reading_alias()
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        _read_settings(cursor)
        for fact_key, by_dimension in wanted.items():
            _fact_results(FACTS[fact_key], scope, by_dimension, measures, results)
        if pending is None:
            computed = _computed_values(computed_measures, scope)
    if pending is not None:
        computed = pending.result()

    person_ids = {g[1] for g in results if g[0] == "person"}
    names = _staff_names(person_ids)
    rooftop_names = {r.id: r.name for r in scope.rooftops}

    def label(dimension, key) -> str:
        if dimension == "source":
            return source_label(key)
        if dimension == "person":
            return names.get(key, "Unassigned" if key is None else f"Former staff #{key}")
        if dimension == "rooftop":
            return rooftop_names.get(key, str(key))
        if dimension == "kind":
            return _kind_label(key)
        if dimension == "trend":
            return _trend_label(key, scope.trend_grain)
        return str(key)

    section_results = []
    for section in sections:
        cards = []
        for measure in section_measures(section, measures):
            if isinstance(measure.formula, Computed):
                cards.append((measure, computed[measure.key]))
            else:
                cards.append((measure, results.get((None, TOTAL), {}).get(measure.key, _value(measure, None, None))))
        figures = []
        for figure in section.figures:
            if figure.multi_rooftop_only and not multi:
                continue
            fig_measures = [measures[k] for k in figure.measures if k in measures]
            if not fig_measures:
                continue
            if figure.dimension is None:
                totals = results.get((None, TOTAL), {})
                rows = [
                    Row(key=m.key, label=m.label, values={m.key: totals.get(m.key, _value(m, None, None))}, scope=scope)
                    for m in fig_measures
                ]
            else:
                rows = []
                grouped = {key: values for (dimension, key), values in results.items()
                           if dimension == figure.dimension}
                if figure.dimension == "trend":
                    # Every day/week/month of the period, zeros included: a line chart must not skip quiet days.
                    grouped = {key: grouped.get(key, {}) for key in _trend_keys(scope)}
                for key, values in grouped.items():
                    row_values = {m.key: values.get(m.key) or _value(m, None, None, trend=figure.dimension == "trend")
                                  for m in fig_measures}
                    if figure.dimension != "trend" and not any(
                            v.current not in (None, 0) or v.denominator for v in row_values.values()):
                        continue
                    rows.append(Row(key=key, label=label(figure.dimension, key), values=row_values,
                                    scope=_row_scope(scope, figure.dimension, key)))
                if figure.dimension == "trend":
                    rows.sort(key=lambda r: r.key)
                elif figure.sort_by:
                    rows.sort(key=lambda r: (-(r.values.get(figure.sort_by, EMPTY).current or 0), r.label))
                else:
                    rows.sort(key=lambda r: r.label)
                if figure.limit:
                    rows = rows[: figure.limit]
            figures.append(FigureResult(figure=figure, measures=fig_measures, rows=rows,
                                        dimension_label=DIMENSION_LABELS[figure.dimension]))
        section_results.append(SectionResult(section=section, cards=cards, figures=figures))

    refreshed = RollupState.objects.filter(rooftop_id__in=scope.rooftop_ids).order_by("refreshed_at").first()
    return Dashboard(scope=scope, sections=section_results, refreshed_at=refreshed.refreshed_at if refreshed else None,
                     measures=measures)


def measure_value(*, scope: Scope, key: str) -> Value:
    """One measure's total for the scope (tests and the benchmark use this; the page uses dashboard_build)."""
    measures = available_measures()
    measure = measures[key]
    if isinstance(measure.formula, Computed):
        return _computed_value(measure, scope)
    results: dict = defaultdict(dict)
    alias = _reading_alias()
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        _read_settings(cursor)
        _fact_results(FACTS[measure.fact], scope, {None: {key}}, measures, results)
    return results.get((None, TOTAL), {}).get(key) or _value(measure, None, None)


def figure_lookup(key: str) -> tuple[Section, Figure] | None:
    return next(((s, f) for s in SECTIONS for f in s.figures if f.key == key), None)


def drilldown_leads(*, scope: Scope, measure: Measure, base: bool = False):
    """The leads behind a figure (or behind its denominator), newest first, scoped to the scope's rooftops."""
    from leads.models import Lead

    condition = (measure.leads_base if base else measure.leads)(scope)
    return (
        Lead.objects.for_rooftops(scope.rooftop_ids)
        .filter(condition)
        .select_related("customer", "rooftop", "assigned_to__staff_profile")
        .order_by("-created_at", "-id")
    )
