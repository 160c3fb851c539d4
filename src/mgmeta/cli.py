"""Command-line interface: ``mgmeta <command> ...``.

Commands
--------
``mgmeta validate [PATH]``
    Check the data package (default: the repository's ``data/`` folder, or
    ``$MGMETA_DATA``) and print every problem, one per line. Exit status 0 when
    the data are valid, 1 when there are problems, 2 on a usage error.
``mgmeta gaps [PATH] [--result ID ...] [--no-candidates] [--csv]``
    Print the extraction to-do list of :func:`mgmeta.review.data.data_gaps`.
``mgmeta pool OUTCOME TIMEPOINT ...``
    A meta-analysis of one outcome from the data, printed as the summary
    (see :func:`mgmeta.report.pool_command`). Exit 0 printed, 1 nothing to
    pool, 2 bad input.
``mgmeta report``
    Execute the notebooks and render the report (see
    :func:`mgmeta.report.report_command`). Exit 0 built, 1 a notebook failed.

The parser is built by :func:`build_parser`; each command is a subparser whose
``handler`` default is called with the parsed arguments and returns the exit
status.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mgmeta.review import data as _data
from mgmeta import report as _report
from mgmeta.errors import MgmetaError, SchemaError

__all__ = ["main", "build_parser"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def _existing_path(path: str | None) -> Path | None:
    """The data folder to use, or None when the given path does not exist."""
    folder = _data.data_path(path)
    return folder if folder.exists() else None


def _cmd_validate(args: argparse.Namespace) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per command."""
    parser = argparse.ArgumentParser(prog="mgmeta", description="Reproducible meta-analysis of magnesium for migraine.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("validate", help="check the data package and print every problem",
                       description="Check data/ against datapackage.json and the cross-table rules; "
                                   "exit 0 when valid, 1 when there are problems, 2 on a usage error.")
    p.add_argument("path", nargs="?", default=None,
                   help="data folder or its datapackage.json (default: $MGMETA_DATA or the repository's data/)")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser("gaps", help="list what is missing for an exact reproduction of each published result",
                       description="The extraction to-do list for a reader with the full texts.")
    p.add_argument("path", nargs="?", default=None, help="data folder (default as for validate)")
    p.add_argument("--result", action="append", default=None, metavar="ID",
                   help="only this result id of published.csv (repeatable)")
    p.add_argument("--no-candidates", action="store_true",
                   help="do not list candidate trials for results whose trial list is unknown")
    p.add_argument("--csv", action="store_true", help="write CSV instead of text")
    p.set_defaults(handler=_cmd_gaps)

    p = sub.add_parser("pool", help="meta-analysis of one outcome from the data, printed as the summary",
                       description="Pool one outcome and time point from data/; optionally write the forest "
                                   "plot. Exit 0 printed, 1 nothing to pool, 2 bad input.")
    _report.add_pool_arguments(p)
    p.set_defaults(handler=_report.pool_command)

    p = sub.add_parser("report", help="execute the notebooks and render the report into report/",
                       description="Execute every notebook from scratch and render the static HTML site. "
                                   "Exit 0 built, 1 a notebook failed, 2 bad input.")
    _report.add_report_arguments(p)
    p.set_defaults(handler=_report.report_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 problems, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
