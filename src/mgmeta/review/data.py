"""The magnesium-for-migraine trial data: loading, validation, analysis-ready frames, gaps.

This is the only module of mgmeta that reads files. It never writes into
``data/``. The data package is a folder with ``datapackage.json`` (a
frictionless Table Schema for every table) and six CSV files:

``trials.csv``
    one row per study: design, population, dose, comparator, risk of bias.
``arms.csv``
    one row per arm, stratum total or trial total (no numbers).
``outcomes.csv``
    arm-level numbers in long form, one row per number, each with its source,
    locator and status (reported, derived with its arithmetic, or missing).
``contrasts.csv``
    between-arm contrasts and p-values as the trials report them.
``published.csv``
    pooled results of the reviews (the targets of a reproduction).
``published_trials.csv``
    which trials each pooled result used, where known or inferred.

:func:`validate` applies the Table Schema (types, required values, allowed
values, patterns, ranges, primary and foreign keys) and the checks a schema
cannot express (events above n, percentages that do not match their counts
beyond rounding, arm sizes that do not add up, derived numbers whose arithmetic
does not reproduce, numbers without provenance) and returns every problem by
table, row and column. The ``load_*`` functions return typed DataFrames and
raise :class:`mgmeta.errors.SchemaError` when their table has problems.
:func:`analysis_data` turns the long tables into one row per trial, ready for
:func:`mgmeta.effect_sizes`; :func:`data_gaps` lists what is still missing for
an exact reproduction of each published result.

The default data folder is the repository's ``data/``; the environment variable
``MGMETA_DATA`` or a ``path`` argument overrides it.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mgmeta import conversions
from mgmeta.errors import DataError, SchemaError

__all__ = [
    "Problem",
    "data_path",
    "validate",
    "validate_data",
    "load_trials",
    "load_arms",
    "load_outcomes",
    "load_contrasts",
    "load_published",
    "load_published_trials",
    "analysis_data",
    "data_gaps",
    "known_issues",
    "TABLES",
]

#: Table names of the data package, in the order they are checked.
TABLES: tuple[str, ...] = ("trials", "arms", "outcomes", "contrasts", "published", "published_trials")

_DEFAULT_DIR = Path(__file__).resolve().parents[3] / "data"
#: Within-patient correlation assumed for crossover trials that report none (Elbourne et al. 2002 suggest
#: imputing one and checking the result over a range; the review's sensitivity analysis uses 0, 0.5, 0.8).
ASSUMED_CROSSOVER_CORR = 0.5
_DESCRIPTOR = "datapackage.json"

# Flags whose rows are kept for the record but never used (see data/README.md); a percentage flagged
# denominator_unknown is in particular never converted to a count.
_UNUSABLE = frozenset({"source_inconsistent", "conflicting_sources", "unverified", "denominator_unknown"})
_ROB_DOMAINS = ("rob_randomization", "rob_deviations", "rob_missing", "rob_measurement", "rob_selection")
_BINARY = ("OR", "RR", "RD", "PETO")
_CONTINUOUS = ("MD", "SMD", "ROM")
_STAGES = ("analysed", "randomized", "enrolled", "completed")


# --------------------------------------------------------------------------------------------
# problems
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One thing wrong with the data package.

    Attributes
    ----------
    table : str
        Table name (``"trials"``, ``"outcomes"``, ...) or ``"datapackage"``.
    row : int or None
        0-based data row of the table (the CSV line is ``row + 2``); None for a
        problem of the whole table or file.
    column : str or None
        Column name, None when the problem is not about one column.
    value : object
        The offending value as written in the file (a string), or None.
    message : str
        What is wrong, naming the record or study.
    """

    table: str
    row: int | None
    column: str | None
    value: Any
    message: str

    @property
    def line(self) -> int | None:
        """Line number in the CSV file (the header is line 1), or None."""
        return None if self.row is None else self.row + 2

    def __str__(self) -> str:
        where = self.table if self.table == "datapackage" else f"{self.table}.csv"
        if self.row is not None:
            where += f" line {self.line} (row {self.row})"
        if self.column is not None:
            where += f", column {self.column!r}"
        if self.value is not None and self.value != "":
            where += f", value {self.value!r}"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The problem as a plain dict (stable keys: table, row, line, column, value, message)."""
        return {"table": self.table, "row": self.row, "line": self.line, "column": self.column,
                "value": self.value, "message": self.message}


# --------------------------------------------------------------------------------------------
# reading the package
# --------------------------------------------------------------------------------------------

def data_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The data folder to read.

    Parameters
    ----------
    path : str or path-like, optional
        A data folder, or the path of its ``datapackage.json``. When None, the
        environment variable ``MGMETA_DATA`` if set, else the repository's
        ``data/`` folder.

    Returns
    -------
    pathlib.Path
        The folder (not checked for existence).
    """
    if path is None:
        env = os.environ.get("MGMETA_DATA")
        path = env if env else _DEFAULT_DIR
    p = Path(path)
    if p.suffix == ".json":
        p = p.parent
    return p


@dataclass
class _Table:
    name: str
    schema: dict[str, Any]
    header: list[str]
    raw: list[dict[str, str]]          # every row as written, "" for empty cells
    ok: list[bool]                     # row has the right number of fields
    parsed: list[dict[str, Any]]       # typed values (None for empty / unparsable)
    frame: pd.DataFrame | None = None


@dataclass
class _Package:
    directory: Path
    tables: dict[str, _Table] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _read_package(path: str | os.PathLike[str] | None) -> _Package:
    directory = data_path(path)
    pkg = _Package(directory)
    desc_path = directory / _DESCRIPTOR
    if not directory.is_dir():
        pkg.problems.append(Problem("datapackage", None, None, str(directory), "data folder not found"))
        return pkg
    try:
        descriptor = json.loads(desc_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        pkg.problems.append(Problem("datapackage", None, None, str(desc_path), "datapackage.json not found"))
        return pkg
    except json.JSONDecodeError as exc:
        pkg.problems.append(Problem("datapackage", None, None, str(desc_path), f"invalid JSON: {exc}"))
        return pkg
    resources = {r.get("name"): r for r in descriptor.get("resources", []) if isinstance(r, dict)}
    for name in TABLES:
        if name not in resources:
            pkg.problems.append(Problem("datapackage", None, None, name, f"resource {name!r} is not described"))
            continue
        table = _read_table(directory, resources[name], pkg.problems)
        if table is not None:
            pkg.tables[name] = table
    return pkg


def _read_table(directory: Path, resource: dict[str, Any], problems: list[Problem]) -> _Table | None:
    name = resource["name"]
    schema = resource.get("schema", {})
    fields = [f["name"] for f in schema.get("fields", [])]
    file = directory / resource.get("path", f"{name}.csv")
    try:
        with open(file, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        problems.append(Problem(name, None, None, str(file), "file not found"))
        return None
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, None, None, str(file), f"not valid UTF-8: {exc}"))
        return None
    if not rows:
        problems.append(Problem(name, None, None, str(file), "file is empty (no header)"))
        return None
    header = rows[0]
    for col in fields:
        if col not in header:
            problems.append(Problem(name, None, col, None, "column described in datapackage.json is missing"))
    for col in header:
        if col not in fields:
            problems.append(Problem(name, None, col, None, "column not described in datapackage.json"))
    dupes = {c for c in header if header.count(c) > 1}
    for col in sorted(dupes):
        problems.append(Problem(name, None, col, None, "column appears more than once in the header"))
    raw: list[dict[str, str]] = []
    ok: list[bool] = []
    for i, values in enumerate(rows[1:]):
        good = len(values) == len(header)
        if not good:
            problems.append(Problem(name, i, None, None,
                                    f"row has {len(values)} fields, the header has {len(header)}"))
        padded = list(values) + [""] * max(0, len(header) - len(values))
        record = {col: padded[j] for j, col in enumerate(header)}
        raw.append({col: record.get(col, "") for col in fields})
        ok.append(good)
    return _Table(name, schema, header, raw, ok, [{} for _ in raw])


# --------------------------------------------------------------------------------------------
# Table Schema checks
# --------------------------------------------------------------------------------------------

def _parse(value: str, fdesc: dict[str, Any]) -> tuple[Any, str | None]:
    """Parse one cell by its field type; returns (value, error message or None)."""
    ftype = fdesc.get("type", "string")
    if ftype == "string":
        return value, None
    if ftype == "integer":
        try:
            return int(value.strip()), None
        except ValueError:
            return None, f"not an integer ({fdesc['name']} is of type integer)"
    if ftype == "number":
        try:
            x = float(value.strip())
        except ValueError:
            return None, f"not a number ({fdesc['name']} is of type number)"
        if not math.isfinite(x):
            return None, "not a finite number"
        return x, None
    if ftype == "boolean":
        trues = fdesc.get("trueValues", ["true", "True", "TRUE", "1"])
        falses = fdesc.get("falseValues", ["false", "False", "FALSE", "0"])
        if value in trues:
            return True, None
        if value in falses:
            return False, None
        return None, f"not a boolean (expected one of {trues + falses})"
    return value, None


def _schema_checks(table: _Table, problems: list[Problem]) -> None:
    fields = table.schema.get("fields", [])
    missing_values = set(table.schema.get("missingValues", [""]))
    seen_unique: dict[str, dict[Any, int]] = defaultdict(dict)
    for i, (row, good) in enumerate(zip(table.raw, table.ok)):
        parsed: dict[str, Any] = {}
        for fdesc in fields:
            col = fdesc["name"]
            text = row.get(col, "")
            cons = fdesc.get("constraints", {})
            if text in missing_values:
                parsed[col] = None
                if cons.get("required") and good:
                    problems.append(Problem(table.name, i, col, text, "required value is empty"))
                continue
            value, err = _parse(text, fdesc)
            if err is not None:
                problems.append(Problem(table.name, i, col, text, err))
                parsed[col] = None
                continue
            parsed[col] = value
            if "enum" in cons and value not in cons["enum"]:
                problems.append(Problem(table.name, i, col, text,
                                        f"not an allowed value (allowed: {', '.join(map(str, cons['enum']))})"))
            if "pattern" in cons and isinstance(value, str) and not re.fullmatch(cons["pattern"], value):
                problems.append(Problem(table.name, i, col, text, f"does not match the pattern {cons['pattern']!r}"))
            if "minimum" in cons and isinstance(value, (int, float)) and value < cons["minimum"]:
                problems.append(Problem(table.name, i, col, text, f"below the minimum {cons['minimum']}"))
            if "maximum" in cons and isinstance(value, (int, float)) and value > cons["maximum"]:
                problems.append(Problem(table.name, i, col, text, f"above the maximum {cons['maximum']}"))
            if cons.get("unique"):
                first = seen_unique[col].get(value)
                if first is not None:
                    problems.append(Problem(table.name, i, col, text,
                                            f"duplicate of line {first + 2} (values must be unique)"))
                else:
                    seen_unique[col][value] = i
        table.parsed[i] = parsed
    pk = table.schema.get("primaryKey")
    if pk:
        pk = [pk] if isinstance(pk, str) else list(pk)
        seen: dict[tuple[Any, ...], int] = {}
        for i, parsed in enumerate(table.parsed):
            key = tuple(parsed.get(c) for c in pk)
            if any(k is None for k in key):
                continue  # reported as a required value
            if key in seen:
                problems.append(Problem(table.name, i, ",".join(pk), "|".join(map(str, key)),
                                        f"duplicate primary key (first at line {seen[key] + 2})"))
            else:
                seen[key] = i


def _foreign_key_checks(pkg: _Package) -> None:
    for table in pkg.tables.values():
        for fk in table.schema.get("foreignKeys", []):
            fields = [fk["fields"]] if isinstance(fk["fields"], str) else list(fk["fields"])
            ref = fk["reference"]
            rfields = [ref["fields"]] if isinstance(ref["fields"], str) else list(ref["fields"])
            target = pkg.tables.get(ref["resource"])
            if target is None:
                continue
            keys = {tuple(p.get(c) for c in rfields) for p in target.parsed}
            for i, parsed in enumerate(table.parsed):
                key = tuple(parsed.get(c) for c in fields)
                if any(k is None for k in key):
                    continue
                if key not in keys:
                    pkg.problems.append(Problem(
                        table.name, i, ",".join(fields), "|".join(map(str, key)),
                        f"no matching row in {ref['resource']} ({', '.join(rfields)})"))


_DTYPES = {"integer": "Int64", "number": "float64", "boolean": "boolean", "string": "string"}


def _frame(table: _Table) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for fdesc in table.schema.get("fields", []):
        col = fdesc["name"]
        values = [p.get(col) for p in table.parsed]
        dtype = _DTYPES.get(fdesc.get("type", "string"), "string")
        if dtype == "float64":
            data[col] = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
        else:
            data[col] = pd.array(values, dtype=dtype)
    return pd.DataFrame(data, index=pd.RangeIndex(len(table.parsed)))


# --------------------------------------------------------------------------------------------
# checks a schema cannot express
# --------------------------------------------------------------------------------------------

def _decimals(text: str) -> int:
    try:
        exp = Decimal(text.strip()).as_tuple().exponent
    except InvalidOperation:
        return 0
    return max(0, -int(exp)) if isinstance(exp, int) else 0


def _num(x: Any) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _check_trials(t: _Table, problems: list[Problem]) -> None:
    order = {"low": 0, "some concerns": 1, "unclear": 2, "high": 3}
    for i, p in enumerate(t.parsed):
        tid = p.get("trial_id")
        if p.get("include_default") is True and p.get("randomized") is not True:
            problems.append(Problem("trials", i, "include_default", "true",
                                    f"study {tid!r}: included by default but not known to be randomized"))
        if p.get("include_default") is False and not p.get("exclusion_reason"):
            problems.append(Problem("trials", i, "exclusion_reason", "",
                                    f"study {tid!r}: excluded by default without an exclusion_reason"))
        nr, na = p.get("n_randomized"), p.get("n_analysed")
        if nr is not None and na is not None and na > nr:
            problems.append(Problem("trials", i, "n_analysed", str(na),
                                    f"study {tid!r}: n_analysed ({na}) exceeds n_randomized ({nr})"))
        domains = [p.get(c) for c in _ROB_DOMAINS]
        overall = p.get("rob_overall")
        if overall is not None and all(d is not None for d in domains):
            if "high" in domains:
                expected = "high"
            elif "unclear" in domains:
                expected = "unclear"
            elif "some concerns" in domains:
                expected = "some concerns"
            else:
                expected = "low"
            if overall != expected and order.get(overall, 0) < order[expected]:
                problems.append(Problem("trials", i, "rob_overall", overall,
                                        f"study {tid!r}: overall risk of bias {overall!r} is better than the "
                                        f"domains allow ({expected!r})"))
        prov = p.get("provenance")
        if prov:
            for entry in prov.split("; "):
                m = re.fullmatch(r"([a-z_]+)=(https?://\S+)\|(.+)", entry.strip())
                if m is None:
                    problems.append(Problem("trials", i, "provenance", entry,
                                            f"study {tid!r}: provenance entries must read 'field=URL|locator'"))
                elif m.group(1) not in t.raw[i]:
                    problems.append(Problem("trials", i, "provenance", entry,
                                            f"study {tid!r}: provenance names an unknown field {m.group(1)!r}"))
        for col in ("year", "n_arms", "n_randomized", "n_analysed"):
            if p.get(col) is not None and (not p.get("source_url") or not p.get("locator")):
                problems.append(Problem("trials", i, col, t.raw[i][col],
                                        f"study {tid!r}: number without provenance (source_url and locator)"))


def _check_arms(a: _Table, problems: list[Problem]) -> None:
    arms_by_trial: dict[str, set[str]] = defaultdict(set)
    for p in a.parsed:
        if p.get("trial_id") and p.get("arm"):
            arms_by_trial[p["trial_id"]].add(p["arm"])
    for i, p in enumerate(a.parsed):
        name = f"arm {p.get('trial_id')}.{p.get('arm')}"
        if p.get("arm_role") == "control" and not p.get("comparator"):
            problems.append(Problem("arms", i, "comparator", None,
                                    f"{name}: a control arm names its comparator (placebo, the drug, ...)"))
        if p.get("arm_role") != "control" and p.get("comparator"):
            problems.append(Problem("arms", i, "comparator", p.get("comparator"),
                                    f"{name}: only control arms have a comparator"))
        members = p.get("members")
        if not members:
            continue
        if p.get("arm_role") != "total":
            problems.append(Problem("arms", i, "members", members,
                                    f"arm {p.get('trial_id')}.{p.get('arm')}: only total arms have members"))
        for m in members.split(";"):
            if m not in arms_by_trial.get(p.get("trial_id") or "", set()):
                problems.append(Problem("arms", i, "members", members,
                                        f"arm {p.get('trial_id')}.{p.get('arm')}: member {m!r} is not an arm "
                                        "of the same trial"))


@dataclass(frozen=True)
class _Rec:
    row: int
    record_id: str
    value: Any  # float or None
    text: str
    status: str
    flag: str | None
    method: str | None


def _usable(r: _Rec, allow_assumptions: bool = True) -> bool:
    if r.value is None or r.status == "missing" or r.flag in _UNUSABLE:
        return False
    return allow_assumptions or r.flag != "assumption"


def _outcome_index(o: _Table) -> dict[tuple[Any, ...], list[_Rec]]:
    index: dict[tuple[Any, ...], list[_Rec]] = defaultdict(list)
    for i, p in enumerate(o.parsed):
        key = (p.get("trial_id"), p.get("arm"), p.get("outcome"), p.get("timepoint"), p.get("quantity"))
        if any(k is None for k in key):
            continue
        index[key].append(_Rec(i, p.get("record_id") or "", p.get("value"), o.raw[i].get("value", ""),
                               p.get("status") or "", p.get("flag"), p.get("method")))
    return index


def _pick(recs: Iterable[_Rec], allow_assumptions: bool = True) -> _Rec | None:
    usable = [r for r in recs if _usable(r, allow_assumptions)]
    usable.sort(key=lambda r: (r.status != "reported", r.flag == "assumption"))
    return usable[0] if usable else None


def _arm_n_rec(index: dict, trial: str, arm: str, outcome: str, timepoint: str,
               allow_assumptions: bool = True) -> tuple[_Rec | None, str]:
    rec = _pick(index.get((trial, arm, outcome, timepoint, "n"), []), allow_assumptions)
    if rec is not None:
        return rec, "outcome-specific n"
    for stage in _STAGES:
        rec = _pick(index.get((trial, arm, "participants", stage, "n"), []), allow_assumptions)
        if rec is not None:
            return rec, f"n = participants {stage}"
    return None, ""


def _check_outcomes(o: _Table, arms: _Table | None, trials: _Table | None, problems: list[Problem]) -> None:
    by_id = {p.get("record_id"): (i, p) for i, p in enumerate(o.parsed) if p.get("record_id")}
    arm_info = {}
    if arms is not None:
        arm_info = {(p.get("trial_id"), p.get("arm")): p for p in arms.parsed}
    index = _outcome_index(o)

    for i, p in enumerate(o.parsed):
        rid = p.get("record_id") or f"row {i}"
        status, value, quantity = p.get("status"), p.get("value"), p.get("quantity")
        text = o.raw[i].get("value", "")
        # status and value agree
        if status == "missing" and value is not None:
            problems.append(Problem("outcomes", i, "value", text,
                                    f"record {rid!r}: status is missing but a value is given"))
        if status in ("reported", "derived") and value is None and text == "":
            problems.append(Problem("outcomes", i, "value", text,
                                    f"record {rid!r}: status {status} needs a value"))
        # provenance of every number
        if text != "" and (not p.get("source_url") or not p.get("locator")):
            problems.append(Problem("outcomes", i, "source_url", p.get("source_url"),
                                    f"record {rid!r}: number without provenance (source_url and locator)"))
        # derived rows carry their arithmetic
        if status == "derived":
            for col in ("method", "derived_from", "derivation"):
                if not p.get(col):
                    problems.append(Problem("outcomes", i, col, "", f"record {rid!r}: derived value without {col}"))
        else:
            for col in ("method", "derived_from"):
                if p.get(col):
                    problems.append(Problem("outcomes", i, col, o.raw[i][col],
                                            f"record {rid!r}: {col} is only for derived rows"))
        if p.get("flag") and not p.get("notes"):
            problems.append(Problem("outcomes", i, "notes", "", f"record {rid!r}: a flagged row ({p['flag']}) "
                                                                "must say why in notes"))
        # consistency with arms.csv
        info = arm_info.get((p.get("trial_id"), p.get("arm")))
        if info is not None:
            if p.get("arm_role") is not None and p.get("arm_role") != info.get("arm_role"):
                problems.append(Problem("outcomes", i, "arm_role", p.get("arm_role"),
                                        f"record {rid!r}: arms.csv gives arm_role {info.get('arm_role')!r}"))
            if (p.get("comparator") or "") != (info.get("comparison") or ""):
                problems.append(Problem("outcomes", i, "comparator", p.get("comparator"),
                                        f"record {rid!r}: arms.csv gives comparison {info.get('comparison')!r}"))
        # value ranges by quantity
        if value is not None:
            wrong = None
            if quantity in ("n", "events") and not float(value).is_integer():
                wrong = f"{quantity} must be a whole number"
            elif quantity == "n" and value < 1:
                wrong = "n must be at least 1"
            elif quantity == "events" and value < 0:
                wrong = "events must not be negative"
            elif quantity == "percent" and not 0 <= value <= 100:
                wrong = "percent must lie in 0..100"
            elif quantity in ("sd", "se", "iqr_width") and value < 0:
                wrong = f"{quantity} must not be negative"
            if wrong:
                problems.append(Problem("outcomes", i, "value", text, f"record {rid!r}: {wrong}"))
        # derived values reproduce
        if status == "derived" and value is not None and p.get("method") and p.get("derived_from"):
            _check_derivation(o, i, p, by_id, problems)

    # duplicates, events vs n, percent vs counts, quantile order
    for key, recs in index.items():
        trial, arm, outcome, timepoint, quantity = key
        usable = [r for r in recs if _usable(r)]
        if len(usable) > 1:
            first = usable[0]
            for r in usable[1:]:
                problems.append(Problem("outcomes", r.row, "value", r.text,
                                        f"record {r.record_id!r}: a second usable value for {'.'.join(key)} "
                                        f"(also {first.record_id!r}); flag one of them"))
        if quantity != "events":
            continue
        ev = _pick(recs)
        if ev is None:
            continue
        n_rec, _ = _arm_n_rec(index, trial, arm, outcome, timepoint)
        if n_rec is not None and ev.value is not None and n_rec.value is not None and ev.value > n_rec.value:
            problems.append(Problem("outcomes", ev.row, "value", ev.text,
                                    f"record {ev.record_id!r}: events ({_num(ev.value)}) exceed arm size "
                                    f"({_num(n_rec.value)}, record {n_rec.record_id!r})"))
            continue
        pct = _pick(index.get((trial, arm, outcome, timepoint, "percent"), []))
        if pct is None or n_rec is None or n_rec.value is None:
            continue
        try:
            match = conversions.check_count_percent(int(ev.value), pct.text.strip(), int(n_rec.value),
                                                    study=trial, field="value")
        except DataError as exc:
            problems.append(Problem("outcomes", pct.row, "value", pct.text, f"record {pct.record_id!r}: {exc}"))
            continue
        if not match:
            exact = 100 * ev.value / n_rec.value
            problems.append(Problem(
                "outcomes", pct.row, "value", pct.text,
                f"record {pct.record_id!r}: {pct.text}% does not match {_num(ev.value)}/{_num(n_rec.value)} = "
                f"{exact:.{_decimals(pct.text) + 2}f}% beyond rounding (events record {ev.record_id!r})"))

    order = ("min", "q1", "median", "q3", "max")
    groups: dict[tuple[str, str, str, str], dict[str, _Rec]] = defaultdict(dict)
    for (trial, arm, outcome, timepoint, quantity), recs in index.items():
        if quantity in order:
            rec = _pick(recs)
            if rec is not None:
                groups[(trial, arm, outcome, timepoint)][quantity] = rec
    for key, qs in groups.items():
        present = [(q, qs[q]) for q in order if q in qs]
        for (qa, ra), (qb, rb) in zip(present, present[1:]):
            if ra.value is not None and rb.value is not None and ra.value > rb.value:
                problems.append(Problem("outcomes", rb.row, "value", rb.text,
                                        f"record {rb.record_id!r}: {qb} ({_num(rb.value)}) is below {qa} "
                                        f"({_num(ra.value)}, record {ra.record_id!r})"))

    # arm sizes add up to totals
    if arms is not None:
        for j, a in enumerate(arms.parsed):
            members = (a.get("members") or "").split(";") if a.get("members") else []
            if not members:
                continue
            trial, total_arm = a.get("trial_id"), a.get("arm")
            stages = {k[3] for k in index if k[0] == trial and k[2] == "participants"}
            for stage in sorted(stages):
                total = _pick(index.get((trial, total_arm, "participants", stage, "n"), []))
                if total is None or total.value is None:
                    continue
                parts = [_pick(index.get((trial, m, "participants", stage, "n"), [])) for m in members]
                known = [r for r in parts if r is not None and r.value is not None]
                s = sum(r.value for r in known)  # type: ignore[misc]
                if len(known) == len(members) and s != total.value:
                    problems.append(Problem(
                        "outcomes", total.row, "value", total.text,
                        f"record {total.record_id!r}: arm sizes ({' + '.join(_num(r.value) for r in known)} = "
                        f"{_num(s)}) do not add up to the total {_num(total.value)}"))
                elif len(known) < len(members) and s > total.value:
                    problems.append(Problem(
                        "outcomes", total.row, "value", total.text,
                        f"record {total.record_id!r}: known arm sizes already add up to {_num(s)}, "
                        f"more than the total {_num(total.value)}"))
    if trials is not None:
        for i, t in enumerate(trials.parsed):
            tid = t.get("trial_id")
            checks: tuple[tuple[str, tuple[str, ...]], ...] = (("n_randomized", ("randomized", "enrolled")),
                                                               ("n_analysed", ("analysed",)))
            for col, stage_names in checks:
                val = t.get(col)
                if val is None:
                    continue
                for stage in stage_names:
                    rec = _pick(index.get((tid, "all", "participants", stage, "n"), []))
                    if rec is not None and rec.value is not None:
                        if rec.value != val:
                            problems.append(Problem("trials", i, col, str(val),
                                                    f"study {tid!r}: {col} ({val}) differs from outcomes.csv record "
                                                    f"{rec.record_id!r} ({_num(rec.value)})"))
                        break


def _check_derivation(o: _Table, i: int, p: dict[str, Any], by_id: dict[Any, tuple[int, dict[str, Any]]],
                      problems: list[Problem]) -> None:
    rid, method, value = p.get("record_id"), p.get("method"), p.get("value")
    ids = [s.strip() for s in (p.get("derived_from") or "").split(";") if s.strip()]
    inputs = []
    for ref in ids:
        if ref not in by_id:
            problems.append(Problem("outcomes", i, "derived_from", ref, f"record {rid!r}: unknown record {ref!r}"))
            return
        j, q = by_id[ref]
        if q.get("value") is None:
            problems.append(Problem("outcomes", i, "derived_from", ref,
                                    f"record {rid!r}: input {ref!r} has no value"))
            return
        inputs.append((q, o.raw[j].get("value", "")))
    expected: float | None = None
    try:
        if method == "count_from_percent":
            pct = next((t for q, t in inputs if q.get("quantity") == "percent"), None)
            n = next((q.get("value") for q, _ in inputs if q.get("quantity") == "n"), None)
            if pct is None or n is None:
                raise DataError("count_from_percent needs a percent record and an n record")
            expected = float(conversions.count_from_percent(pct.strip(), int(n), study=p.get("trial_id"),
                                                            field="value"))
        elif method == "difference":
            if len(inputs) != 2:
                raise DataError("difference needs exactly two records")
            expected = inputs[0][0]["value"] - inputs[1][0]["value"]
        elif method == "sum":
            expected = float(sum(q["value"] for q, _ in inputs))
        elif method == "crossover_total":
            if len(inputs) != 1:
                raise DataError("crossover_total needs exactly one record")
            expected = inputs[0][0]["value"]
        elif method == "unique_split":
            expected = _unique_split(inputs, p)
    except DataError as exc:
        problems.append(Problem("outcomes", i, "value", o.raw[i].get("value"), f"record {rid!r}: {exc}"))
        return
    if expected is not None and value is not None and abs(expected - value) > 1e-9:
        problems.append(Problem("outcomes", i, "value", o.raw[i].get("value"),
                                f"record {rid!r}: the derivation ({method}) gives {_num(expected)}, "
                                f"not {_num(value)}"))


def _unique_split(inputs: list[tuple[dict[str, Any], str]], p: dict[str, Any]) -> float:
    """Arm size implied by a total and one printed percentage per arm (first percent = this arm)."""
    total = next((q["value"] for q, _ in inputs if q.get("quantity") == "n"), None)
    pcts = [t for q, t in inputs if q.get("quantity") == "percent"]
    if total is None or len(pcts) != 2:
        raise DataError("unique_split needs a total n and two percentages (this arm's first)")
    total = int(total)
    solutions = []
    for n1 in range(1, total):
        a = conversions.counts_matching_percent(pcts[0].strip(), n1)
        b = conversions.counts_matching_percent(pcts[1].strip(), total - n1)
        if a.size and b.size:
            solutions.append(n1)
    if len(solutions) != 1:
        raise DataError(f"unique_split is not unique: arm sizes {solutions} all fit")
    return float(solutions[0])


def _check_contrasts(c: _Table, problems: list[Problem]) -> None:
    for i, p in enumerate(c.parsed):
        raw = c.raw[i]
        cid = p.get("contrast_id") or f"row {i}"

        def bad(col: str, message: str, value: Any = None) -> None:
            problems.append(Problem("contrasts", i, col, raw.get(col) if value is None else value,
                                    f"contrast {cid!r}: {message}"))

        est, lo, hi, pv = p.get("estimate"), p.get("ci_lower"), p.get("ci_upper"), p.get("pvalue")
        status, measure = p.get("status"), p.get("measure")
        numbers = [x for x in (est, lo, hi, pv) if x is not None]
        if status == "missing" and numbers:
            bad("status", "status is missing but numbers are given")
        if status in ("reported", "derived") and not numbers:
            bad("status", f"status {status} needs an estimate or a p-value")
        if numbers and (not p.get("source_url") or not p.get("locator")):
            bad("source_url", "number without provenance (source_url and locator)")
        if measure == "none" and (est is not None or lo is not None or hi is not None):
            bad("measure", "measure 'none' takes no estimate or CI")
        if (lo is None) != (hi is None):
            bad("ci_lower", "give both CI limits or neither")
        if lo is not None and hi is not None:
            if p.get("ci_level") is None:
                bad("ci_level", "CI without ci_level")
            if lo > hi or (est is not None and not lo <= est <= hi):
                bad("estimate", f"the estimate must lie within its CI ({raw['ci_lower']} to {raw['ci_upper']})")
        if pv is not None and not p.get("pvalue_relation"):
            bad("pvalue_relation", "p-value without pvalue_relation")
        if est is not None and measure in ("OR", "RR", "ROM") and est <= 0:
            bad("estimate", "a ratio must be positive")
        if p.get("flag") and not p.get("notes"):
            bad("notes", f"a flagged row ({p['flag']}) must say why in notes")
        if p.get("arm1") and p.get("arm1") == p.get("arm2"):
            bad("arm2", "arm1 and arm2 are the same arm")


def _check_published(t: _Table, problems: list[Problem]) -> None:
    for i, p in enumerate(t.parsed):
        raw = t.raw[i]
        rid = p.get("result_id") or f"row {i}"

        def bad(col: str, message: str) -> None:
            problems.append(Problem("published", i, col, raw.get(col), f"result {rid!r}: {message}"))

        est, lo, hi = p.get("estimate"), p.get("ci_lower"), p.get("ci_upper")
        measure, status = p.get("measure"), p.get("status")
        numbers = [c for c in ("estimate", "ci_lower", "ci_upper", "i2", "k", "participants", "pvalue")
                   if p.get(c) is not None]
        if numbers and (not p.get("source_url") or not p.get("locator")):
            bad("source_url", "number without provenance (source_url and locator)")
        if measure in ("none", "unknown") and (est is not None or lo is not None or hi is not None):
            bad("estimate", f"measure {measure!r} takes no estimate or CI")
        if measure not in ("none", "unknown") and status == "reported" and est is None:
            bad("estimate", "a reported pooled result needs its estimate")
        if measure == "unknown" and status != "missing":
            bad("status", "an unseen estimate has status missing")
        if (lo is None) != (hi is None):
            bad("ci_lower", "give both CI limits or neither")
        if lo is not None and hi is not None:
            if p.get("ci_level") is None:
                bad("ci_level", "CI without ci_level")
            if lo > hi or (est is not None and not lo <= est <= hi):
                bad("estimate", f"the estimate must lie within its CI ({raw['ci_lower']} to {raw['ci_upper']})")
        if est is not None and measure in ("OR", "RR") and est <= 0:
            bad("estimate", "a ratio must be positive")
        if (p.get("k") is not None or p.get("participants") is not None) and not p.get("counts_scope"):
            bad("counts_scope", "say what k and participants count")


_CACHE: dict[tuple[str, str], _Package] = {}
_CACHE_SIZE = 8


def _fingerprint(directory: Path) -> str | None:
    """Hash of the descriptor and every CSV of the folder (None when the folder cannot be read)."""
    try:
        files = sorted(p for p in directory.iterdir() if p.suffix in (".csv", ".json"))
        digest = hashlib.sha1()
        for f in files:
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def _check_package(path: str | os.PathLike[str] | None) -> _Package:
    """Read and check the package; results are cached by folder and file contents (read-only use)."""
    directory = data_path(path)
    fingerprint = _fingerprint(directory) if directory.is_dir() else None
    key = (str(directory.resolve()), fingerprint or "")
    if fingerprint is not None and key in _CACHE:
        return _CACHE[key]
    pkg = _check_package_uncached(path)
    if fingerprint is not None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = pkg
    return pkg


def _check_package_uncached(path: str | os.PathLike[str] | None) -> _Package:
    pkg = _read_package(path)
    for table in pkg.tables.values():
        _schema_checks(table, pkg.problems)
    _foreign_key_checks(pkg)
    t = pkg.tables
    if "trials" in t:
        _check_trials(t["trials"], pkg.problems)
    if "arms" in t:
        _check_arms(t["arms"], pkg.problems)
    if "outcomes" in t:
        _check_outcomes(t["outcomes"], t.get("arms"), t.get("trials"), pkg.problems)
    if "contrasts" in t:
        _check_contrasts(t["contrasts"], pkg.problems)
    if "published" in t:
        _check_published(t["published"], pkg.problems)
    for table in pkg.tables.values():
        table.frame = _frame(table)
    order = {name: k for k, name in enumerate(("datapackage",) + TABLES)}
    pkg.problems.sort(key=lambda q: (order.get(q.table, 99), -1 if q.row is None else q.row, q.column or ""))
    return pkg


# --------------------------------------------------------------------------------------------
# public: validate and load
# --------------------------------------------------------------------------------------------

def validate(path: str | os.PathLike[str] | None = None) -> list[Problem]:
    """Check the data package and return every problem found.

    Parameters
    ----------
    path : str or path-like, optional
        Data folder (or its ``datapackage.json``); see :func:`data_path`.

    Returns
    -------
    list of Problem
        Empty when the data are valid. Ordered by table, then row.

    Notes
    -----
    Schema checks (from ``datapackage.json``): header against the described
    fields, field types, required values, allowed values (enum), patterns,
    minimum/maximum, unique values, primary keys and foreign keys.

    Checks a schema cannot express:

    * status and value agree (missing rows are empty, reported and derived rows are not);
    * every number has a ``source_url`` and a ``locator``;
    * derived rows carry ``method``, ``derived_from`` and ``derivation``, and the
      method reproduces the value (percentages to counts with
      :func:`mgmeta.conversions.count_from_percent`, differences, sums, unique arm
      splits);
    * events do not exceed the arm size; counts and percentages agree within the
      rounding of the printed percentage
      (:func:`mgmeta.conversions.check_count_percent`); quartiles are ordered;
    * arm sizes add up to stratum and trial totals, and to ``n_randomized`` /
      ``n_analysed`` of trials.csv;
    * at most one usable value per trial, arm, outcome, time point and quantity
      (alternatives carry a flag);
    * ``arm_role`` and ``comparator`` of outcomes.csv match arms.csv;
    * trials included by default are randomized, excluded ones say why, and the
      overall risk of bias is not better than its domains allow;
    * contrasts and published results lie within their confidence intervals,
      ratios are positive, p-values say how they were printed.

    Rows flagged ``source_inconsistent``, ``conflicting_sources``, ``unverified``
    or ``denominator_unknown`` are kept as printed and left out of the
    arithmetic checks and of :func:`analysis_data` (see :func:`known_issues`).

    Examples
    --------
    >>> from mgmeta.review.data import validate
    >>> validate()
    []
    """
    return list(_check_package(path).problems)


#: Alias of :func:`validate` for export at package level.
validate_data = validate


def _load(name: str, path: str | os.PathLike[str] | None) -> pd.DataFrame:
    pkg = _check_package(path)
    problems = [p for p in pkg.problems if p.table in (name, "datapackage")]
    if name not in pkg.tables and not problems:
        problems = [Problem(name, None, None, None, "table could not be read")]
    if problems:
        shown = "\n".join(f"  {p}" for p in problems[:10])
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise SchemaError(f"{name}: {len(problems)} problem{'s' if len(problems) != 1 else ''} in "
                          f"{pkg.directory}:\n{shown}{more}", problems)
    frame = pkg.tables[name].frame
    assert frame is not None
    return frame.copy()


def load_trials(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The trials table, validated and typed.

    Parameters
    ----------
    path : str or path-like, optional
        Data folder; see :func:`data_path`.

    Returns
    -------
    pandas.DataFrame
        One row per study. Strings have the pandas ``string`` dtype, integers
        ``Int64``, numbers ``float64`` and booleans ``boolean`` (all nullable).

    Raises
    ------
    SchemaError
        When the table has problems; ``problems`` lists them.
    """
    return _load("trials", path)


def load_arms(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The arms table (one row per arm or total), validated and typed; see :func:`load_trials`."""
    return _load("arms", path)


def load_outcomes(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The arm-level numbers (long form), validated and typed; see :func:`load_trials`."""
    return _load("outcomes", path)


def load_contrasts(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The reported between-arm contrasts and p-values, validated and typed; see :func:`load_trials`."""
    return _load("contrasts", path)


def load_published(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The published pooled results, validated and typed; see :func:`load_trials`."""
    return _load("published", path)


def load_published_trials(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Which trials each published result pooled, validated and typed; see :func:`load_trials`."""
    return _load("published_trials", path)


def _checked(path: str | os.PathLike[str] | None) -> _Package:
    pkg = _check_package(path)
    if pkg.problems:
        shown = "\n".join(f"  {p}" for p in pkg.problems[:10])
        raise SchemaError(f"{len(pkg.problems)} problem(s) in {pkg.directory}:\n{shown}", pkg.problems)
    return pkg


def known_issues(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The flagged numbers: printed values kept but not used, and values resting on assumptions.

    Parameters
    ----------
    path : str or path-like, optional
        Data folder; see :func:`data_path`.

    Returns
    -------
    pandas.DataFrame
        Columns ``table``, ``id``, ``trial_id``, ``flag``, ``value``, ``notes``,
        ``source_url``, ``locator``: one row per flagged row of outcomes.csv and
        contrasts.csv (e.g. Pfaffenrath's printed "1 in each group", Zohaib's
        "34.3 %", the assumed arm split of Ginder 2000).
    """
    pkg = _checked(path)
    rows = []
    for name, id_col in (("outcomes", "record_id"), ("contrasts", "contrast_id")):
        for i, p in enumerate(pkg.tables[name].parsed):
            if p.get("flag"):
                raw = pkg.tables[name].raw[i]
                rows.append({"table": name, "id": p[id_col], "trial_id": p["trial_id"], "flag": p["flag"],
                             "value": raw.get("value", raw.get("estimate", "")) or raw.get("pvalue", ""),
                             "notes": p.get("notes") or "", "source_url": p["source_url"], "locator": p["locator"]})
    return pd.DataFrame(rows, columns=["table", "id", "trial_id", "flag", "value", "notes", "source_url", "locator"])


# --------------------------------------------------------------------------------------------
# analysis-ready data
# --------------------------------------------------------------------------------------------

@dataclass
class _ArmData:
    arm: str
    label: str
    n: Any = None        # float or None
    events: Any = None
    mean: Any = None
    sd: Any = None
    conversions: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _as_list(x: str | Iterable[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(x)


def _binary_arm(index: dict, trial: str, arm: str, label: str, outcome: str, timepoint: str,
                allow: bool) -> _ArmData:
    d = _ArmData(arm, label)
    n_rec, n_note = _arm_n_rec(index, trial, arm, outcome, timepoint, allow)
    if n_rec is None:
        d.missing.append(f"{arm}: n")
    else:
        d.n = n_rec.value
        d.records.append(n_rec.record_id)
        if n_note != "outcome-specific n":
            d.conversions.append(n_note)
        if n_rec.status == "derived":
            d.conversions.append(f"{arm} n derived in data ({n_rec.method})")
    ev = _pick(index.get((trial, arm, outcome, timepoint, "events"), []), allow)
    if ev is not None:
        d.events = ev.value
        d.records.append(ev.record_id)
        if ev.status == "derived":
            d.conversions.append(f"{arm} events derived in data ({ev.method})")
        return d
    pct = _pick(index.get((trial, arm, outcome, timepoint, "percent"), []), allow)
    if pct is not None and d.n is not None:
        d.events = float(conversions.count_from_percent(pct.text.strip(), int(d.n), study=trial, field=outcome))
        d.records.append(pct.record_id)
        d.conversions.append("events_from_percent")
    else:
        d.missing.append(f"{arm}: events")
    return d


def _continuous_arm(index: dict, trial: str, arm: str, label: str, outcome: str, timepoint: str,
                    allow: bool, median_method: str) -> _ArmData:
    d = _ArmData(arm, label)
    n_rec, n_note = _arm_n_rec(index, trial, arm, outcome, timepoint, allow)
    if n_rec is None:
        d.missing.append(f"{arm}: n")
    else:
        d.n = n_rec.value
        d.records.append(n_rec.record_id)
        if n_note != "outcome-specific n":
            d.conversions.append(n_note)
        if n_rec.status == "derived":
            d.conversions.append(f"{arm} n derived in data ({n_rec.method})")

    def get(q: str) -> _Rec | None:
        return _pick(index.get((trial, arm, outcome, timepoint, q), []), allow)

    mean, sd, se = get("mean"), get("sd"), get("se")
    if mean is not None and sd is not None:
        d.mean, d.sd = mean.value, sd.value
        d.records += [mean.record_id, sd.record_id]
        return d
    if mean is not None and se is not None and d.n is not None:
        d.mean = mean.value
        d.sd = float(conversions.sd_from_se(se.value, d.n, study=trial, field=outcome))
        d.records += [mean.record_id, se.record_id]
        d.conversions.append("sd_from_se")
        return d
    med, q1, q3, lo, hi = get("median"), get("q1"), get("q3"), get("min"), get("max")
    have_iqr = q1 is not None and q3 is not None
    have_range = lo is not None and hi is not None
    if med is not None and (have_iqr or have_range) and d.n is not None:
        kwargs: dict[str, Any] = {}
        used = [med]
        if have_iqr:
            kwargs.update(q1=q1.value, q3=q3.value)  # type: ignore[union-attr]
            used += [q1, q3]  # type: ignore[list-item]
        if have_range:
            kwargs.update(minimum=lo.value, maximum=hi.value)  # type: ignore[union-attr]
            used += [lo, hi]  # type: ignore[list-item]
        res = conversions.mean_sd_from_median(med.value, n=d.n, method=median_method,  # type: ignore[arg-type]
                                              skew_test="ignore", study=trial, field=outcome, **kwargs)
        d.mean, d.sd = float(res.mean), float(res.sd)
        d.records += [r.record_id for r in used if r is not None]
        d.conversions.append(res.conversion)
        if bool(np.any(res.skewness.significant)):
            d.conversions.append(f"{arm}: skewness test significant (normality assumption doubtful)")
        return d
    if mean is None and med is None:
        d.missing.append(f"{arm}: mean")
    if mean is not None:
        d.missing.append(f"{arm}: sd")
    if med is not None:
        d.missing.append(f"{arm}: quartiles or range")
    return d


def _combine(arms: list[_ArmData], binary: bool, trial: str) -> _ArmData:
    if len(arms) == 1:
        return arms[0]
    out = _ArmData("+".join(a.arm for a in arms), " + ".join(a.label for a in arms))
    for a in arms:
        out.conversions += a.conversions
        out.records += a.records
        out.missing += a.missing
    if out.missing:
        return out
    if binary:
        res = conversions.combine_events(arms[0].events, arms[0].n, arms[1].events, arms[1].n, study=trial)
        events, n = float(res.events), float(res.n)
        for a in arms[2:]:
            res = conversions.combine_events(events, n, a.events, a.n, study=trial)
            events, n = float(res.events), float(res.n)
        out.events, out.n = events, n
        out.conversions.append("combine_events")
    else:
        res2 = conversions.combine_arms_all([a.n for a in arms], [a.mean for a in arms], [a.sd for a in arms],
                                            study=trial)
        out.n, out.mean, out.sd = float(res2.n), float(res2.mean), float(res2.sd)
        out.conversions.append("combine_arms")
    return out


def _from_contrast(contrasts: pd.DataFrame, trial: str, outcome: str, timepoint: str, mg_arm: str,
                   ctrl_arm: str, measure: str) -> dict[str, Any] | None:
    rows = contrasts[(contrasts["trial_id"] == trial) & (contrasts["outcome"] == outcome)
                     & (contrasts["timepoint"] == timepoint) & (contrasts["measure"] == measure)
                     & contrasts["ci_lower"].notna() & contrasts["ci_upper"].notna()
                     & contrasts["estimate"].notna() & contrasts["flag"].isna()]
    for _, r in rows.iterrows():
        pair = (r["arm1"], r["arm2"])
        if pair == (mg_arm, ctrl_arm):
            sign = 1.0
        elif pair == (ctrl_arm, mg_arm):
            sign = -1.0
        else:
            continue
        est, lo, hi = float(r["estimate"]), float(r["ci_lower"]), float(r["ci_upper"])
        scale = 0.01 if (measure == "RD" and str(r["unit"]) == "percentage points") else 1.0
        est, lo, hi = est * scale, lo * scale, hi * scale
        if measure in ("OR", "RR", "ROM"):
            if sign < 0:
                est, lo, hi = 1 / est, 1 / hi, 1 / lo
        elif sign < 0:
            est, lo, hi = -est, -hi, -lo
        level = float(r["ci_level"]) if not pd.isna(r["ci_level"]) else 95.0
        res = conversions.contrast_from_ci(est, lo, hi, measure=measure, level=level / 100, study=trial)
        conv = ["contrast_from_ci"]
        if sign < 0:
            conv.insert(0, "contrast reoriented to magnesium vs control")
        if scale != 1.0:
            conv.insert(0, "percentage points to proportion")
        return {"yi": float(res.yi), "vi": float(res.vi), "estimate": est, "ci_lower": lo, "ci_upper": hi,
                "conversion": conv, "records": [str(r["contrast_id"])]}
    return None


def analysis_data(outcome: str, timepoint: str, *, measure: str,
                  comparison: str | Sequence[str] = "placebo", route: str | None = None,
                  include: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
                  include_nonrandomized: bool = False, allow_assumptions: bool = False,
                  use_contrasts: bool = True, crossover_corr: float = ASSUMED_CROSSOVER_CORR,
                  median_method: str = "luo_wan", keep_missing: bool = False, comparator: str | None = None,
                  path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One analysis-ready row per trial (or stratum) for an outcome and time point.

    Parameters
    ----------
    outcome : str
        Outcome code of outcomes.csv, e.g. ``"pain_relief"``, ``"pain_score"``,
        ``"rescue_medication"``, ``"attack_frequency"`` (see data/README.md).
    timepoint : str
        Time-point code, e.g. ``"30min"``, ``"120min"``, ``"month3"``.
    measure : str
        Effect measure the frame is meant for: binary ``"OR" "RR" "RD" "PETO"``
        (columns ``ai bi ci di n1i n2i``) or continuous ``"MD" "SMD" "ROM"``
        (columns ``m1i sd1i n1i m2i sd2i n2i``).
    comparison : str or sequence of str
        ``"placebo"``, ``"active"``, ``"add-on"``, ``"usual care"``; a sequence
        is an order of preference, and each trial contributes its first
        matching comparison.
    route : {"iv", "oral"}, optional
        Keep one route only.
    include, exclude : iterable of str, optional
        Trial ids to add (e.g. a trial excluded by default) or to drop.
    include_nonrandomized : bool
        Also use studies whose allocation was not randomized (or not stated).
        Default False: they are listed in the data but kept out of analyses.
    allow_assumptions : bool
        Use numbers flagged ``assumption`` (e.g. Ginder's inferred 20/16 split).
    use_contrasts : bool
        When arm-level numbers are incomplete, use a reported contrast with its
        CI (``yi``, ``vi`` by :func:`mgmeta.conversions.contrast_from_ci`).
    crossover_corr : float
        Within-patient correlation assumed for crossover trials with a
        continuous outcome (no trial in the data reports one; default
        :data:`ASSUMED_CROSSOVER_CORR`). Crossover trials are analysed as
        paired (Elbourne et al. 2002; Cochrane Handbook 23.2.7), each
        participant counted once: the paired mean difference
        (:func:`mgmeta.conversions.crossover_md`) or, for ``measure="SMD"``,
        the paired standardized difference ``MD / s`` with
        ``s = sqrt((SD_T² + SD_C²)/2)`` and variance
        ``SD_diff²/(n s²) + d²/(2n)`` (Becker 1988), as ``yi``/``vi``.
        Crossover trials with a binary outcome reported only as counts per
        period cannot be analysed paired and are listed as incomplete.
    median_method : {"luo_wan", "wan", "hozo"}
        Method of :func:`mgmeta.conversions.mean_sd_from_median`.
    keep_missing : bool
        Keep trials whose numbers are incomplete (their numeric columns are NaN
        and ``missing`` says what is lacking).
    comparator : str, optional
        Keep only control arms of this comparator (``arms.csv`` column
        ``comparator``: ``"placebo"``, ``"metoclopramide"``...), so that one
        comparison never mixes comparators. Default: every control arm of the
        comparison class (several are then combined).
    path : str or path-like, optional
        Data folder; see :func:`data_path`.

    Returns
    -------
    pandas.DataFrame
        One row per trial (per stratum for stratified trials) with ``trial_id``,
        ``study`` (label), ``stratum``, ``route``, ``design``, ``comparison``,
        ``control`` (control arm label), ``data_form`` (``"arms"``,
        ``"contrast"`` or ``"missing"``), the arm columns, ``yi``/``vi`` and
        ``estimate``/``ci_lower``/``ci_upper`` for contrast rows (magnesium vs
        control; ratios on the natural scale in ``estimate``), ``conversion``
        (which conversions produced the row, ``"; "``-separated; empty when
        every number was used as reported), ``records`` (the record ids used)
        and ``missing``. ``frame.attrs["excluded"]`` lists the trials left out
        and why. Arm 1 is always magnesium.

    Raises
    ------
    SchemaError
        When the data package has problems.
    DataError
        On an unknown measure, outcome or time point.

    Notes
    -----
    Arm sizes come from the outcome's own ``n`` rows when present, else from
    the arm's ``participants`` rows (analysed, randomized, enrolled, completed,
    in that order); ``conversion`` says which was used. Counts missing but
    printed as percentages are recovered with
    :func:`mgmeta.conversions.count_from_percent`; medians with quartiles or
    ranges become means and SDs with :func:`mgmeta.conversions.mean_sd_from_median`
    (Luo et al. 2018, Wan et al. 2014, Shi et al. 2020); several control arms of
    one comparison are combined (:func:`mgmeta.conversions.combine_events`,
    :func:`mgmeta.conversions.combine_arms_all`) as the Cochrane Handbook
    (section 23.3.4) recommends, so that no control group is counted twice.

    References
    ----------
    .. [1] Higgins JPT, Thomas J, Chandler J, et al. (eds). Cochrane Handbook for
       Systematic Reviews of Interventions, version 6.5, chapters 6 and 23.
       Cochrane, 2024.
    .. [2] Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard
       deviation from the sample size, median, range and/or interquartile range.
       BMC Med Res Methodol. 2014;14:135. doi:10.1186/1471-2288-14-135
    .. [3] Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from
       the sample size, median, mid-range, and/or mid-quartile range. Stat Methods
       Med Res. 2018;27(6):1785-1805. doi:10.1177/0962280216669183

    Examples
    --------
    >>> from mgmeta.review.data import analysis_data

    Responders (at least 50 % reduction) in Pfaffenrath 1996, the counts derived
    from the printed percentages:

    >>> frame = analysis_data("responders_50", "wk12", measure="OR")
    >>> frame[["study", "ai", "n1i", "ci", "n2i"]].values.tolist()
    [['Pfaffenrath 1996', 10.0, 35.0, 10.0, 34.0]]
    >>> import mgmeta
    >>> es = mgmeta.effect_sizes("OR", data=frame, ai="ai", n1i="n1i", ci="ci", n2i="n2i", labels="study")
    """
    measure = str(measure).upper()
    if measure not in _BINARY + _CONTINUOUS:
        raise DataError(f"measure must be one of {', '.join(_BINARY + _CONTINUOUS)}, got {measure!r}",
                        field="measure")
    binary = measure in _BINARY
    pkg = _checked(path)
    trials = pkg.tables["trials"].frame
    arms = pkg.tables["arms"].frame
    outcomes = pkg.tables["outcomes"].frame
    contrasts = pkg.tables["contrasts"].frame
    assert trials is not None and arms is not None and outcomes is not None and contrasts is not None
    known_outcomes = set(outcomes["outcome"].dropna()) | set(contrasts["outcome"].dropna())
    if outcome not in known_outcomes:
        raise DataError(f"unknown outcome {outcome!r}; the data have {', '.join(sorted(known_outcomes))}",
                        field="outcome")
    known_tp = set(outcomes["timepoint"].dropna()) | set(contrasts["timepoint"].dropna())
    if timepoint not in known_tp:
        raise DataError(f"unknown time point {timepoint!r}; the data have {', '.join(sorted(known_tp))}",
                        field="timepoint")
    comparisons = _as_list(comparison)
    include_set, exclude_set = set(_as_list(include)), set(_as_list(exclude))
    unknown = (include_set | exclude_set) - set(trials["trial_id"])
    if unknown:
        raise DataError(f"unknown trial id(s) {sorted(unknown)} in include/exclude", field="include")
    index = _outcome_index(pkg.tables["outcomes"])

    rows: list[dict[str, Any]] = []
    excluded: list[dict[str, str]] = []
    for _, t in trials.iterrows():
        tid = str(t["trial_id"])
        if tid in exclude_set:
            excluded.append({"trial_id": tid, "study": str(t["study"]), "reason": "excluded by argument"})
            continue
        if route is not None and t["route"] != route:
            continue
        default = bool(t["include_default"]) if not pd.isna(t["include_default"]) else False
        nonrandom = pd.isna(t["randomized"]) or not bool(t["randomized"])
        if not (default or tid in include_set or (include_nonrandomized and nonrandom)):
            excluded.append({"trial_id": tid, "study": str(t["study"]),
                             "reason": f"not included by default: {t['exclusion_reason']}"})
            continue
        has_data = ((outcomes["trial_id"] == tid) & (outcomes["outcome"] == outcome)
                    & (outcomes["timepoint"] == timepoint)).any() or \
                   ((contrasts["trial_id"] == tid) & (contrasts["outcome"] == outcome)
                    & (contrasts["timepoint"] == timepoint)).any()
        if not has_data:
            continue
        tarms = arms[arms["trial_id"] == tid]
        chosen = None
        for comp in comparisons:
            def takes(a: pd.Series) -> bool:
                return comp in str(a["comparison"] if not pd.isna(a["comparison"]) else "").split(";")
            mg = tarms[(tarms["arm_role"] == "magnesium") & tarms.apply(takes, axis=1)] if len(tarms) else tarms
            ctrl = tarms[(tarms["arm_role"] == "control") & tarms.apply(takes, axis=1)] if len(tarms) else tarms
            if comparator is not None and len(ctrl):
                ctrl = ctrl[ctrl["comparator"] == comparator]
            if len(mg) and len(ctrl):
                chosen = (comp, mg, ctrl)
                break
        if chosen is None:
            excluded.append({"trial_id": tid, "study": str(t["study"]),
                             "reason": f"no magnesium-vs-control pair for comparison {comparisons}"})
            continue
        comp, mg, ctrl = chosen
        strata = sorted({"" if pd.isna(s) else str(s) for s in mg["stratum"]})
        for stratum in strata:
            def in_stratum(frame: pd.DataFrame) -> pd.DataFrame:
                s = frame["stratum"].fillna("")
                return frame[s == stratum]
            mg_s, ctrl_s = in_stratum(mg), in_stratum(ctrl)
            if not len(ctrl_s):
                continue
            row = _trial_row(t, stratum, comp, mg_s, ctrl_s, index, contrasts, outcome, timepoint, measure,
                             binary, allow_assumptions, use_contrasts, crossover_corr, median_method)
            if row["data_form"] == "missing" and not keep_missing:
                excluded.append({"trial_id": tid, "study": row["study"],
                                 "reason": "incomplete data: " + row["missing"]})
                continue
            rows.append(row)

    arm_cols = ["ai", "bi", "ci", "di", "n1i", "n2i"] if binary else ["m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"]
    columns = ["trial_id", "study", "stratum", "route", "design", "comparison", "comparator", "control",
               "mg_arms", "control_arms", "population_group", "data_form", "measure", *arm_cols, "yi", "vi",
               "estimate", "ci_lower", "ci_upper", "n_participants", "conversion", "records", "missing"]
    frame = pd.DataFrame(rows, columns=columns)
    for col in arm_cols + ["yi", "vi", "estimate", "ci_lower", "ci_upper", "n_participants"]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    frame.attrs["excluded"] = excluded
    frame.attrs["outcome"] = outcome
    frame.attrs["timepoint"] = timepoint
    frame.attrs["measure"] = measure
    return frame.reset_index(drop=True)


def _trial_row(t: pd.Series, stratum: str, comp: str, mg: pd.DataFrame, ctrl: pd.DataFrame, index: dict,
               contrasts: pd.DataFrame, outcome: str, timepoint: str, measure: str, binary: bool,
               allow: bool, use_contrasts: bool, crossover_corr: float | None,
               median_method: str) -> dict[str, Any]:
    tid = str(t["trial_id"])
    study = str(t["study"]) + (f" ({stratum})" if stratum else "")
    row: dict[str, Any] = {"trial_id": tid, "study": study, "stratum": stratum, "route": t["route"],
                           "design": t["design"], "comparison": comp,
                           "comparator": " + ".join(dict.fromkeys(str(x) for x in ctrl["comparator"])),
                           "control": " + ".join(str(x) for x in ctrl["label"]),
                           "mg_arms": "+".join(str(x) for x in mg["arm"]),
                           "control_arms": "+".join(str(x) for x in ctrl["arm"]),
                           "population_group": t["population_group"], "data_form": "missing",
                           "measure": measure, "conversion": "", "records": "", "missing": ""}

    def build(frame: pd.DataFrame) -> list[_ArmData]:
        out = []
        for _, a in frame.iterrows():
            if binary:
                out.append(_binary_arm(index, tid, str(a["arm"]), str(a["label"]), outcome, timepoint, allow))
            else:
                out.append(_continuous_arm(index, tid, str(a["arm"]), str(a["label"]), outcome, timepoint, allow,
                                           median_method))
        return out

    mg_arm = _combine(build(mg), binary, tid)
    ctrl_arm = _combine(build(ctrl), binary, tid)
    conv = mg_arm.conversions + ctrl_arm.conversions
    records = mg_arm.records + ctrl_arm.records
    missing = mg_arm.missing + ctrl_arm.missing
    if len(mg) > 1:
        conv.append("magnesium arms combined")
    if len(ctrl) > 1:
        conv.append("control arms combined (Cochrane Handbook 23.3.4)")
    crossover = t["design"] == "crossover"
    if crossover and not missing and (binary or measure == "ROM"):
        # Counts per treatment period count every participant twice; a paired analysis needs the
        # discordant pairs (Elbourne et al. 2002), which no source gives.
        missing.append("paired data of the crossover trial (per-period counts would count each participant "
                       "twice)" if binary else "a paired ratio of means for the crossover trial")
    if not missing:
        if binary:
            row.update(ai=mg_arm.events, n1i=mg_arm.n, ci=ctrl_arm.events, n2i=ctrl_arm.n,
                       bi=mg_arm.n - mg_arm.events, di=ctrl_arm.n - ctrl_arm.events,  # type: ignore[operator]
                       n_participants=mg_arm.n + ctrl_arm.n)  # type: ignore[operator]
            row["data_form"] = "arms"
        elif crossover:
            res = conversions.crossover_md(mg_arm.mean, mg_arm.sd, ctrl_arm.mean, ctrl_arm.sd, mg_arm.n,
                                           corr=crossover_corr, study=tid)
            yi, vi = float(res.yi), float(res.vi)
            if measure == "SMD":
                s2 = (float(mg_arm.sd) ** 2 + float(ctrl_arm.sd) ** 2) / 2
                yi = yi / math.sqrt(s2)
                vi = float(res.sd_diff) ** 2 / (float(mg_arm.n) * s2) + yi ** 2 / (2 * float(mg_arm.n))
            half = 1.959963984540054 * math.sqrt(vi)
            row.update(yi=yi, vi=vi, estimate=yi, ci_lower=yi - half, ci_upper=yi + half,
                       n_participants=mg_arm.n)
            conv.append(f"crossover_paired (paired analysis of a crossover trial, assumed within-patient "
                        f"correlation {crossover_corr:g}, each participant counted once)")
            row["data_form"] = "contrast"
        else:
            row.update(m1i=mg_arm.mean, sd1i=mg_arm.sd, n1i=mg_arm.n,
                       m2i=ctrl_arm.mean, sd2i=ctrl_arm.sd, n2i=ctrl_arm.n,
                       n_participants=mg_arm.n + ctrl_arm.n)  # type: ignore[operator]
            row["data_form"] = "arms"
    elif use_contrasts and len(mg) == 1 and len(ctrl) == 1:
        hit = _from_contrast(contrasts, tid, outcome, timepoint, str(mg["arm"].iloc[0]),
                             str(ctrl["arm"].iloc[0]), measure)
        if hit is not None:
            row.update(yi=hit["yi"], vi=hit["vi"], estimate=hit["estimate"], ci_lower=hit["ci_lower"],
                       ci_upper=hit["ci_upper"])
            if mg_arm.n is not None and ctrl_arm.n is not None:
                row["n_participants"] = mg_arm.n if crossover else mg_arm.n + ctrl_arm.n
            conv = hit["conversion"]
            records = hit["records"]
            missing = []
            row["data_form"] = "contrast"
    row["conversion"] = "; ".join(dict.fromkeys(conv))
    row["records"] = ";".join(dict.fromkeys(records))
    row["missing"] = "; ".join(dict.fromkeys(missing))
    return row


# --------------------------------------------------------------------------------------------
# gaps report
# --------------------------------------------------------------------------------------------

_GAP_COLUMNS = ["result_id", "review", "kind", "trial_id", "study", "item", "status", "detail", "source_url",
                "locator"]


def data_gaps(path: str | os.PathLike[str] | None = None, *, result: str | Iterable[str] | None = None,
              candidates: bool = True) -> pd.DataFrame:
    """What is still missing for an exact reproduction of each published result.

    The extraction to-do list for a reader with the full texts: for every row
    of published.csv, the numbers of the pooled result itself that were not
    seen (CI, I², per-analysis k, model), whether its trial list is known, and
    for each of its trials (stated or inferred; or, when the list is unknown,
    each candidate trial of the same route published no later than the review)
    the arm-level numbers of the outcome that are missing or rest on an
    assumption.

    Parameters
    ----------
    path : str or path-like, optional
        Data folder; see :func:`data_path`.
    result : str or iterable of str, optional
        Restrict to these result ids.
    candidates : bool
        List candidate trials for results whose trial list is unknown.

    Returns
    -------
    pandas.DataFrame
        Columns ``result_id``, ``review``, ``kind`` (``"pooled_result"``,
        ``"trial_list"``, ``"trial_data"``, ``"candidate_trial_data"``),
        ``trial_id``, ``study``, ``item`` (what is missing), ``status``
        (``"missing"``, ``"inferred"``, ``"assumption"``, ``"not extracted"``),
        ``detail``, ``source_url`` and ``locator`` (where to look).

    Raises
    ------
    SchemaError
        When the data package has problems.
    """
    pkg = _checked(path)
    published = pkg.tables["published"].frame
    links = pkg.tables["published_trials"].frame
    trials = pkg.tables["trials"].frame
    outcomes = pkg.tables["outcomes"].frame
    assert published is not None and links is not None and trials is not None and outcomes is not None
    wanted = set(_as_list(result)) if result is not None else None
    if wanted is not None:
        unknown = wanted - set(published["result_id"])
        if unknown:
            raise DataError(f"unknown result id(s) {sorted(unknown)}", field="result")
    tinfo = {str(r["trial_id"]): r for _, r in trials.iterrows()}
    rows: list[dict[str, Any]] = []

    def add(res: pd.Series, kind: str, item: str, status: str, detail: str = "", trial: str = "",
            url: str | None = None, locator: str | None = None) -> None:
        rows.append({"result_id": res["result_id"], "review": res["review"], "kind": kind, "trial_id": trial,
                     "study": str(tinfo[trial]["study"]) if trial else "", "item": item, "status": status,
                     "detail": detail, "source_url": url if url is not None else res["source_url"],
                     "locator": locator if locator is not None else "full text"})

    for _, res in published.iterrows():
        rid = str(res["result_id"])
        if wanted is not None and rid not in wanted:
            continue
        pooled = res["measure"] not in ("none",)
        if pooled:
            if pd.isna(res["estimate"]):
                add(res, "pooled_result", "estimate", "missing", "pooled estimate not seen")
            if pd.isna(res["ci_lower"]):
                add(res, "pooled_result", "95% CI", "missing")
            if pd.isna(res["i2"]):
                add(res, "pooled_result", "I2", "missing")
            if pd.isna(res["model"]):
                add(res, "pooled_result", "model and tau2 estimator", "missing")
            if pd.isna(res["k"]) or res["counts_scope"] != "analysis":
                add(res, "pooled_result", "number of studies in this analysis", "missing",
                    "" if pd.isna(res["k"]) else f"only the {res['counts_scope']} total ({res['k']}) is known")
            if pd.isna(res["participants"]) or res["counts_scope"] != "analysis":
                add(res, "pooled_result", "participants in this analysis", "missing")
            if str(res["direction"]).startswith("not stated"):
                add(res, "pooled_result", "direction of the effect measure", "missing",
                    "which arm is the reference and which outcome is counted")
        linked = links[links["result_id"] == rid]
        if not len(linked):
            add(res, "trial_list", "included trials", "missing", "trial list not seen")
        elif not (linked["basis"] == "stated").any():
            add(res, "trial_list", "included trials", "inferred",
                "trial list inferred or taken from a secondary source: "
                + ", ".join(f"{r.trial_id} ({r.basis})" for r in linked.itertuples()))
        tps = [s for s in str(res["data_timepoint"]).split(";") if s and s != "<NA>"] \
            if not pd.isna(res["data_timepoint"]) else []
        targets = [(str(r.trial_id), "trial_data") for r in linked.itertuples()]
        if not len(linked) and candidates:
            m = re.search(r"(19|20)\d{2}", str(res["review"]))
            year = int(m.group(0)) if m else 9999
            placebo_only = "vs placebo" in str(res["comparison"]) and " or " not in str(res["comparison"])
            adults = "adult" in str(res["comparison"])
            for tid, t in tinfo.items():
                randomization_unclear = pd.isna(t["randomized"])
                if t["route"] != res["route"] or not (bool(t["include_default"]) or randomization_unclear):
                    continue
                if adults and t["population_group"] == "pediatric_migraine":
                    continue
                if not pd.isna(t["year"]) and int(t["year"]) > year:
                    continue
                if placebo_only and t["comparator_type"] not in ("placebo", "add-on"):
                    continue
                targets.append((tid, "candidate_trial_data"))
        placebo_arms = "vs placebo" in str(res["comparison"]) and " or " not in str(res["comparison"])
        for tid, kind in targets:
            _trial_gaps(res, tid, kind, str(res["outcome"]), tps, outcomes, tinfo, add, placebo_arms)
    return pd.DataFrame(rows, columns=_GAP_COLUMNS)


def _trial_gaps(res: pd.Series, tid: str, kind: str, outcome: str, tps: list[str], outcomes: pd.DataFrame,
                tinfo: dict[str, pd.Series], add: Any, placebo_arms: bool = False) -> None:
    t = tinfo[tid]
    sub = outcomes[(outcomes["trial_id"] == tid) & (outcomes["outcome"] == outcome)]
    if placebo_arms:  # a placebo comparison does not need the numbers of active-comparator arms
        comp = sub["comparator"].fillna("")
        sub = sub[comp.str.contains("placebo") | comp.str.contains("add-on") | (sub["arm_role"] == "total")]
    if tps:
        sub = sub[sub["timepoint"].isin(tps)]
    else:
        sub = sub[sub["timepoint"] != "baseline"]  # baseline values are not the outcome
    if not len(sub):
        add(res, kind, f"{outcome} ({'/'.join(tps) if tps else 'any time point'}) by arm", "not extracted",
            "no number of this outcome was found in the sources seen", tid, str(t["source_url"]), str(t["locator"]))
    for _, r in sub.iterrows():
        if r["status"] == "missing":
            add(res, kind, f"{r['arm']} {r['quantity']} of {r['outcome']} at {r['timepoint']}", "missing",
                "" if pd.isna(r["notes"]) else str(r["notes"]), tid, str(r["source_url"]), str(r["locator"]))
        elif not pd.isna(r["flag"]) and r["flag"] == "assumption":
            add(res, kind, f"{r['arm']} {r['quantity']} of {r['outcome']} at {r['timepoint']}", "assumption",
                "" if pd.isna(r["notes"]) else str(r["notes"]), tid, str(r["source_url"]), str(r["locator"]))
    parts = outcomes[(outcomes["trial_id"] == tid) & (outcomes["outcome"] == "participants")
                     & (outcomes["status"] == "missing")]
    for _, r in parts.iterrows():
        add(res, kind, f"{r['arm']} arm size ({r['timepoint']})", "missing",
            "" if pd.isna(r["notes"]) else str(r["notes"]), tid, str(r["source_url"]), str(r["locator"]))
