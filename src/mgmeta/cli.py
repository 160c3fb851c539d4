"""Command-line interface: ``mgmeta <command> ...``.

The general tool
----------------
``mgmeta pool FILE.csv --measure OR --ai COL --bi COL --ci COL --di COL [--slab COL] ...``
    Meta-analysis of any CSV file, one row per study (``-`` reads standard
    input): the columns of the arm data (``--ai --bi --ci --di --n1i --n2i``
    for 2x2 tables; ``--m1i --sd1i --n1i --m2i --sd2i --n2i`` for means) or
    of computed effects (``--yi`` with ``--vi`` or ``--sei``) are named by
    metafor's argument names. ``--method`` (REML, DL, ..., or MH / PETO for
    Mantel-Haenszel and Peto), ``--test z|knha``, ``--level``; ``--format
    text|json|csv``; ``--forest FILE`` writes the forest plot. Exit 0 printed,
    1 the model could not be fitted, 2 bad input (unreadable file, missing
    column, non-numeric value).

The bundled magnesium-for-migraine review
-----------------------------------------
``mgmeta review pool OUTCOME TIMEPOINT [-c COMPARISON] ...`` (also ``mgmeta pool OUTCOME TIMEPOINT``)
    A meta-analysis of one outcome of one comparison of the review's data, printed as the
    summary (see :func:`mgmeta.report.pool_command`). Exit 0 printed, 1
    nothing to pool, 2 bad input.
``mgmeta review validate [PATH]`` (also ``mgmeta validate``)
    Check the data package (default: the repository's ``data/`` folder, or
    ``$MGMETA_DATA``) and print every problem, one per line. Exit status 0 when
    the data are valid, 1 when there are problems, 2 on a usage error.
``mgmeta review gaps [PATH] [--result ID ...] [--no-candidates] [--csv]`` (also ``mgmeta gaps``)
    Print the extraction to-do list of :func:`mgmeta.review.data.data_gaps`.
``mgmeta review report`` (also ``mgmeta report``)
    Execute the notebooks and render the report (see
    :func:`mgmeta.report.report_command`). Exit 0 built, 1 a notebook failed.

``mgmeta pool X ...`` is the general tool when ``X`` is ``-``, ends in ``.csv``,
``.tsv`` or ``.txt``, or is an existing file; otherwise it is the review's
outcome pooling (the command's form before the general tool existed).

Output cut short by the reader (``mgmeta gaps | head``) ends quietly with
status 0. The parser is built by :func:`build_parser`; each command is a
subparser whose ``handler`` default is called with the parsed arguments and
returns the exit status. Heavy modules (pandas, scipy, matplotlib) are imported
by the commands that use them, so ``mgmeta --help`` answers at once.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mgmeta import report as _report
from mgmeta.errors import DataError, MgmetaError, SchemaError

__all__ = ["main", "build_parser", "pool_csv"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2

_BINARY = ("OR", "RR", "RD", "PETO")
_CONTINUOUS = ("MD", "SMD", "ROM")
MEASURES = _BINARY + _CONTINUOUS + ("GEN",)
METHODS = ("EE", "FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB", "MH", "PETO")
#: metafor's argument names, in the order of the options
COLUMNS = ("ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "sd1i", "m2i", "sd2i", "yi", "vi", "sei")
_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")


# ==========================================================================
# the bundled review's commands
# ==========================================================================

def _existing_path(path: str | None) -> Path | None:
    """The data folder to use, or None when the given path does not exist."""
    from mgmeta.review import data as _data

    folder = _data.data_path(path)
    return folder if folder.exists() else None


def _cmd_validate(args: argparse.Namespace) -> int:
    from mgmeta.review import data as _data

    folder = _existing_path(args.path)
    if folder is None:
        print(f"mgmeta validate: no such data folder: {_data.data_path(args.path)}", file=sys.stderr)
        return EXIT_USAGE
    problems = _data.validate(folder)
    for problem in problems:
        print(problem)
    if problems:
        n = len(problems)
        print(f"{n} problem{'s' if n != 1 else ''} in {folder}", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"ok: {folder} is valid ({', '.join(_data.TABLES)})")
    return EXIT_OK


def _cmd_gaps(args: argparse.Namespace) -> int:
    from mgmeta.review import data as _data

    folder = _existing_path(args.path)
    if folder is None:
        print(f"mgmeta gaps: no such data folder: {_data.data_path(args.path)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        gaps = _data.data_gaps(folder, result=args.result, candidates=not args.no_candidates)
    except SchemaError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("mgmeta gaps: the data are not valid; run 'mgmeta validate' first", file=sys.stderr)
        return EXIT_PROBLEMS
    except MgmetaError as exc:
        print(f"mgmeta gaps: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.csv:
        gaps.to_csv(sys.stdout, index=False)
        return EXIT_OK
    if gaps.empty:
        print("no gaps: every published result can be reproduced from the data")
        return EXIT_OK
    for (rid, review), group in gaps.groupby(["result_id", "review"], sort=False):
        print(f"{rid} ({review}): {len(group)} item{'s' if len(group) != 1 else ''}")
        for row in group.itertuples():
            who = f"{row.study}: " if row.study else ""
            detail = f" -- {row.detail}" if row.detail else ""
            print(f"  [{row.kind}] {who}{row.item} ({row.status}){detail}")
    return EXIT_OK


# ==========================================================================
# the general tool: pool any CSV
# ==========================================================================

class _Usage(Exception):
    """Bad input of ``mgmeta pool FILE``: printed as one line, exit status 2."""


def _read_table(source: str, sep: str | None) -> Any:
    import pandas as pd

    if source != "-" and not Path(source).is_file():
        raise _Usage(f"no such file: {source!r}")
    if sep is None:
        sep = "\t" if source.lower().endswith(".tsv") else ","
    try:
        frame = pd.read_csv(sys.stdin if source == "-" else source, sep=sep, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _Usage(f"cannot read {source!r} as a table ({'tab' if sep == chr(9) else repr(sep)}-separated): "
                     f"{first}") from None
    if frame.empty:
        raise _Usage(f"{source!r} has no rows of data")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _numeric_columns(frame: Any, used: dict[str, str], labels: list[str], source: str) -> Any:
    """The used columns as numbers; a value that is not a number is named with its row and study."""
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    for arg, col in used.items():
        raw = frame[col]
        text = raw.astype("string").str.strip()
        num = pd.to_numeric(text.replace("", pd.NA), errors="coerce")
        bad = num.isna() & text.notna() & (text != "")
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise _Usage(f"column {col!r} (--{arg}), row {i + 1} (study {labels[i]!r}): {raw.iloc[i]!r} is not "
                         f"a number")
        missing = num.isna()
        if missing.any():
            who = [labels[i] for i in missing.to_numpy().nonzero()[0]]
            raise _Usage(f"column {col!r} (--{arg}) has no value for {len(who)} stud{'y' if len(who) == 1 else 'ies'}"
                         f" ({', '.join(repr(w) for w in who[:5])}{', ...' if len(who) > 5 else ''}) in {source!r}; "
                         f"remove those rows or fill them in")
        out[arg] = num.astype(float)
    return out


def _columns_for(measure: str, given: dict[str, str]) -> None:
    """Check that the options name the columns the measure needs."""
    if "yi" in given:
        if not ({"vi", "sei"} & set(given)):
            raise _Usage("--yi needs --vi or --sei (the sampling variances or standard errors)")
        return
    if measure == "GEN":
        raise _Usage("--measure GEN needs --yi with --vi or --sei")
    if measure in _BINARY:
        need = ["ai", "ci"] + (["n1i", "n2i"] if {"n1i", "n2i"} <= set(given) else ["bi", "di"])
    else:
        need = ["m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"]
    missing = [f"--{a}" for a in need if a not in given]
    if missing:
        kind = "2x2 tables (--ai --bi --ci --di, or --ai --n1i --ci --n2i)" if measure in _BINARY else \
            "means (--m1i --sd1i --n1i --m2i --sd2i --n2i)"
        raise _Usage(f"--measure {measure} needs {kind}, or computed effects (--yi with --vi or --sei); "
                     f"missing {' '.join(missing)}")


def _finite(x: Any) -> Any:
    """A JSON-safe number (NaN and infinities as null)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return x
    if not math.isfinite(v):
        return None
    return int(v) if isinstance(x, int) and not isinstance(x, bool) else v


def _summary(res: Any, measure: str, source: str) -> dict[str, Any]:
    """The fit as a flat JSON object (analysis scale; exponentiated values for ratio measures)."""
    keys = ("estimate", "se", "statistic", "pvalue", "ci_lower", "ci_upper", "pi_lower", "pi_upper", "tau2",
            "se_tau2", "i2", "h2", "q", "q_pvalue", "k", "df")
    out: dict[str, Any] = {"file": source, "measure": measure, "method": res.method,
                           "test": getattr(res, "test", "z"), "level": res.level}
    out.update({k: _finite(getattr(res, k, None)) if getattr(res, k, None) is not None else None for k in keys})
    if measure in ("OR", "RR", "PETO", "ROM"):
        for k in ("estimate", "ci_lower", "ci_upper", "pi_lower", "pi_upper"):
            v = getattr(res, k, None)
            out[f"{k}_exp"] = _finite(math.exp(v)) if v is not None and math.isfinite(v) else None
    out["studies"] = [{"study": str(lab), "yi": _finite(y), "vi": _finite(v), "weight": _finite(w)}
                      for lab, y, v, w in zip(res.labels, res.yi, res.vi, res.weights)]
    return out


def pool_csv(args: argparse.Namespace) -> int:
    """Run ``mgmeta pool FILE ...``; returns the exit status (0 printed, 1 not fitted, 2 bad input)."""
    try:
        return _pool_csv(args)
    except _Usage as exc:
        print(f"mgmeta pool: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _pool_csv(args: argparse.Namespace) -> int:
    measure = args.measure
    method = args.method
    if method == "MH" and measure not in ("OR", "RR", "RD"):
        raise _Usage("--method MH pools 2x2 tables: use --measure OR, RR or RD (--method PETO for Peto odds ratios)")
    if method == "PETO" and measure not in ("OR", "PETO"):
        raise _Usage("--method PETO pools Peto odds ratios: use --measure OR or PETO")
    level = args.level / 100.0 if args.level > 1 else args.level
    if not 0 < level < 1:
        raise _Usage(f"--level must be between 0 and 100 (or 0 and 1), got {args.level}")
    given = {a: getattr(args, a) for a in COLUMNS if getattr(args, a) is not None}
    if not given:
        raise _Usage("name the columns of the data: --ai --bi --ci --di (2x2 tables), --m1i --sd1i --n1i --m2i "
                     "--sd2i --n2i (means) or --yi with --vi/--sei (computed effects); see mgmeta pool --help")
    _columns_for(measure, given)
    if method in ("MH", "PETO") and "yi" in given:
        raise _Usage(f"--method {method} needs the 2x2 tables, not --yi")
    frame = _read_table(args.file, args.sep)
    missing = [(a, c) for a, c in list(given.items()) + ([("slab", args.slab)] if args.slab else [])
               if c not in frame.columns]
    if missing:
        a, c = missing[0]
        raise _Usage(f"column {c!r} (--{a}) is not in {args.file!r}; its columns are "
                     f"{', '.join(repr(str(x)) for x in frame.columns)}")
    labels = [str(x) for x in frame[args.slab]] if args.slab else [str(i + 1) for i in range(len(frame))]
    nums = _numeric_columns(frame, given, labels, args.file)

    import mgmeta  # the library, first used here

    res: Any
    try:
        if method in ("MH", "PETO"):
            tables = {a: nums[a].to_numpy() for a in ("ai", "bi", "ci", "di", "n1i", "n2i") if a in nums}
            if method == "MH":
                res = mgmeta.mantel_haenszel(measure=measure, labels=labels, level=level, **tables)
            else:
                res = mgmeta.peto(labels=labels, level=level, **tables)
            es = mgmeta.effect_sizes(measure, labels=labels, **tables)
        else:
            if "yi" in given:
                kw = {a: nums[a].to_numpy() for a in ("yi", "vi", "sei") if a in nums}
                es = mgmeta.effect_sizes(measure, labels=labels, **kw)
            else:
                es = mgmeta.effect_sizes(measure, labels=labels, **{a: nums[a].to_numpy() for a in nums})
            res = mgmeta.meta_analysis(es, method=method, test=args.test, level=level)
    except DataError as exc:
        raise _Usage(str(exc)) from None
    except MgmetaError as exc:
        print(f"mgmeta pool: the model could not be fitted: {exc}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.format == "json":
        print(json.dumps(_summary(res, measure, args.file), allow_nan=False))
    elif args.format == "csv":
        print(res.to_frame().to_csv(index=False), end="")
    else:
        print(res, end="" if str(res).endswith("\n") else "\n")
    if args.forest:
        return _write_forest(res, es, args)
    return EXIT_OK


def _write_forest(res: Any, es: Any, args: argparse.Namespace) -> int:
    target = Path(args.forest)
    if target.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise _Usage(f"--forest must end in .png, .svg or .pdf, got {str(target)!r}")
    import warnings

    os.environ.setdefault("MPLBACKEND", "Agg")
    from mgmeta.plots import forest, save

    kw: dict[str, Any] = {"title": args.title, "favours": tuple(args.favours) if args.favours else None}
    if args.arm_labels:
        kw["arm_labels"] = tuple(args.arm_labels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = forest(res, data=es, **kw)
    for w in caught:
        print(f"mgmeta pool: note: {w.message}", file=sys.stderr)
    try:
        save(fig, target, formats=(target.suffix.lstrip(".").lower(),))
    except OSError as exc:
        raise _Usage(f"cannot write {str(target)!r}: {exc}") from None
    if args.format == "text":
        print(f"forest plot written to {target}")
    return EXIT_OK


def add_csv_pool_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The arguments of ``mgmeta pool FILE``."""
    parser.add_argument("file", metavar="FILE.csv", help="CSV file, one row per study ('-' reads standard input)")
    parser.add_argument("--measure", "-m", required=True, type=str.upper, choices=MEASURES,
                        help="effect measure: OR RR RD PETO (2x2 tables), MD SMD ROM (means), GEN (given yi)")
    cols = parser.add_argument_group("columns (metafor's argument names; give the column of the file)")
    helps = {"ai": "events, experimental arm", "bi": "non-events, experimental arm", "ci": "events, control arm",
             "di": "non-events, control arm", "n1i": "size of the experimental arm", "n2i": "size of the control arm",
             "m1i": "mean, experimental arm", "sd1i": "SD, experimental arm", "m2i": "mean, control arm",
             "sd2i": "SD, control arm", "yi": "computed effect (log scale for ratio measures)",
             "vi": "its sampling variance", "sei": "its standard error (instead of --vi)"}
    for a in COLUMNS:
        cols.add_argument(f"--{a}", metavar="COL", help=helps[a])
    cols.add_argument("--slab", metavar="COL", help="study labels (default 1, 2, ...)")
    parser.add_argument("--method", default="REML", type=str.upper, choices=METHODS,
                        help="tau² estimator (default REML), EE for a common-effect model, or MH / PETO for "
                             "Mantel-Haenszel / Peto pooling of 2x2 tables")
    parser.add_argument("--test", default="z", choices=["z", "knha"], help="z or Hartung-Knapp (knha)")
    parser.add_argument("--level", default=95.0, type=float, help="confidence level in percent (default 95)")
    parser.add_argument("--sep", default=None, help="field separator (default ',' or a tab for .tsv)")
    parser.add_argument("--format", choices=["text", "json", "csv"], default="text",
                        help="the model printout as metafor prints it (default), one JSON object with the "
                             "study-level data, or a CSV row")
    plot = parser.add_argument_group("forest plot")
    plot.add_argument("--forest", metavar="FILE", help="also write the forest plot (.png, .svg or .pdf)")
    plot.add_argument("--title", help="title of the forest plot")
    plot.add_argument("--arm-labels", nargs=2, metavar=("EXP", "CTRL"),
                      help="headers of the two arms (default Experimental, Control)")
    plot.add_argument("--favours", nargs=2, metavar=("LEFT", "RIGHT"),
                      help="'Favours ...' texts left and right of the line of no effect (default none)")
    return parser


def _is_table_arg(token: str) -> bool:
    return token == "-" or token.lower().endswith(_TABLE_SUFFIXES) or Path(token).is_file()


def _first_positional(tokens: Sequence[str], takes_value: set[str]) -> str | None:
    skip = False
    for t in tokens:
        if skip:
            skip = False
            continue
        if t == "--":
            continue
        if t.startswith("-") and t != "-":
            if "=" not in t and t in takes_value:
                skip = True
            continue
        return t
    return None


def _route_pool(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``mgmeta pool OUTCOME TIMEPOINT ...`` (no table file) -> ``mgmeta review pool ...``."""
    if not argv or argv[0] != "pool":
        return argv
    takes_value = {opt for sub in _subparsers(parser).values() for a in sub._actions if a.nargs != 0
                   for opt in a.option_strings}
    first = _first_positional(argv[1:], takes_value)
    if first is None or _is_table_arg(first):
        return argv
    return ["review", *argv]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = sub
                out.update({f"{name} {k}": v for k, v in _subparsers(sub).items()})
    return out


# ==========================================================================
# the parser
# ==========================================================================

_DESCRIPTION = """\
Meta-analysis that agrees with R metafor.

The general tool -- pool any CSV file, one row per study:
  mgmeta pool trials.csv --measure OR --ai tpos --bi tneg --ci cpos --di cneg --slab study
  mgmeta pool trials.csv --measure MD --m1i m1 --sd1i sd1 --n1i n1 --m2i m2 --sd2i sd2 --n2i n2 --test knha
  mgmeta pool effects.csv --measure GEN --yi yi --vi vi --format json --forest forest.png

The bundled magnesium-for-migraine review (its data/ folder and report):
  mgmeta review pool OUTCOME TIMEPOINT [-c iv-placebo] ...    (or: mgmeta pool OUTCOME TIMEPOINT)
  mgmeta review validate | gaps | report                        (or: mgmeta validate | gaps | report)
"""

_POOL_EPILOG = """\
Examples:
  mgmeta pool bcg.csv --measure RR --ai tpos --bi tneg --ci cpos --di cneg --slab study
  mgmeta pool bcg.csv -m OR --ai tpos --n1i n1 --ci cpos --n2i n2 --method MH --format json
  mgmeta pool effects.csv -m GEN --yi yi --sei se --method DL --forest forest.svg

Exit status: 0 printed, 1 the model could not be fitted, 2 bad input (unreadable file, missing column,
a value that is not a number).

The bundled magnesium review's outcome pooling keeps its form: when the first argument is not a table file
(ending in .csv, .tsv or .txt, an existing file, or '-'), 'mgmeta pool OUTCOME TIMEPOINT [--comparison ID]
[--route iv|oral] [--exclude TRIAL_ID] [--include TRIAL_ID] ...' runs 'mgmeta review pool' (see
'mgmeta review pool --help').
"""


def _version() -> str:
    import mgmeta

    return f"mgmeta {mgmeta.__version__}"


def _add_review_commands(sub: Any, prefix: str) -> None:
    p = sub.add_parser("validate", help=f"{prefix}check the review's data package and print every problem",
                       description="Check data/ against datapackage.json and the cross-table rules; "
                                   "exit 0 when valid, 1 when there are problems, 2 on a usage error.")
    p.add_argument("path", nargs="?", default=None,
                   help="data folder or its datapackage.json (default: $MGMETA_DATA or the repository's data/)")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser("gaps", help=f"{prefix}list what is missing to reproduce each published result",
                       description="The extraction to-do list for a reader with the full texts.")
    p.add_argument("path", nargs="?", default=None, help="data folder (default as for validate)")
    p.add_argument("--result", action="append", default=None, metavar="ID",
                   help="only this result id of published.csv (repeatable)")
    p.add_argument("--no-candidates", action="store_true",
                   help="do not list candidate trials for results whose trial list is unknown")
    p.add_argument("--csv", action="store_true", help="write CSV instead of text")
    p.set_defaults(handler=_cmd_gaps)

    p = sub.add_parser("report", help=f"{prefix}execute the notebooks and render the report into report/",
                       description="Execute every notebook from scratch and render the static HTML site. "
                                   "Exit 0 built, 1 a notebook failed, 2 bad input.")
    _report.add_report_arguments(p)
    p.set_defaults(handler=_report.report_command)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per command."""
    parser = argparse.ArgumentParser(prog="mgmeta", description=_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("pool", help="meta-analysis of any CSV file (one row per study)",
                       description="Pool the studies of a CSV file, as metafor's escalc() and rma() (or rma.mh(), "
                                   "rma.peto()) would, and print the model.",
                       epilog=_POOL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_csv_pool_arguments(p)
    p.set_defaults(handler=pool_csv)

    r = sub.add_parser("review", help="the bundled magnesium-for-migraine review: pool, validate, gaps, report",
                       description="Commands of the bundled magnesium-for-migraine review (its data/ folder, "
                                   "notebooks and report).")
    rsub = r.add_subparsers(dest="review_command", metavar="COMMAND")
    rsub.required = True
    p = rsub.add_parser("pool", help="meta-analysis of one outcome of the review's data",
                        description="Pool one outcome and time point from data/; optionally write the forest "
                                    "plot. Exit 0 printed, 1 nothing to pool, 2 bad input.")
    _report.add_pool_arguments(p)
    p.set_defaults(handler=_report.pool_command)
    _add_review_commands(rsub, "")

    # the review's commands at the top level too, as before
    _add_review_commands(sub, "review: ")
    return parser


def _quiet_broken_pipe() -> None:
    """Send what is left for stdout to /dev/null, so that the interpreter exits without a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (e.g. captured by pytest)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 problems, 2 usage error).

    Output cut short by the reader (``mgmeta gaps | head``) ends quietly with status 0.
    """
    try:
        parser = build_parser()
        args_list = list(sys.argv[1:] if argv is None else argv)
        try:
            args = parser.parse_args(_route_pool(args_list, parser))
        except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help / --version
            return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
        handler: Callable[[argparse.Namespace], int] = args.handler
        code = handler(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
