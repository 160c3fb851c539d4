"""The comparisons of the magnesium review: route x comparator, never a mix.

A Cochrane review is organised comparison -> outcome -> time point, and one
comparison never pools different comparators into one estimate (Cochrane
Handbook, version 6.5, section 2.3.2 and chapter 9.3). Here a comparison is
the route of magnesium (intravenous for acute attacks, oral for prevention),
a comparator class and the named comparator:

========== =============================================================
class      what the control group received
========== =============================================================
placebo    placebo (saline, a matching tablet)
active     a named active drug or combination (metoclopramide, ...)
add-on     the same co-treatment as the magnesium arm, without magnesium
usual care routine treatment
unclear    a control group the sources do not describe
========== =============================================================

The comparator of every control arm is a column of ``data/arms.csv``
(``comparator``); the comparisons are derived from the arms, so adding a trial
to the data adds it to its comparison. The population (adults with migraine,
children, menstrual migraine, mixed headache) is a subgroup within a
comparison (:func:`population_subgroup`), never a silent mix.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from mgmeta.errors import DataError

__all__ = ["Comparison", "comparisons", "get_comparison", "population_subgroup", "CLASS_ORDER", "ROUTE_NAMES"]

#: Order of the comparison classes in tables and the report.
CLASS_ORDER = ("placebo", "add-on", "active", "usual care", "unclear")
#: How a route is named in titles and in sentences.
ROUTE_NAMES = {"iv": ("IV magnesium", "intravenous magnesium"), "oral": ("Oral magnesium", "oral magnesium")}

#: Population subgroups within a comparison, from ``trials.csv``'s ``population_group``.
_POPULATIONS = {
    "migraine": "Adults with migraine",
    "migraine_with_or_without_aura": "Adults with migraine",
    "migraine_without_aura": "Adults with migraine",
    "pediatric_migraine": "Children and adolescents with migraine",
    "menstrual_migraine": "Menstrual migraine",
    "headache": "Mixed headache (migraine and other headache)",
    "mixed_headache": "Mixed headache (migraine and other headache)",
}


def population_subgroup(population_group: Any) -> str:
    """The population subgroup of a trial (``trials.csv`` column ``population_group``).

    >>> population_subgroup("migraine_without_aura")
    'Adults with migraine'
    >>> population_subgroup("headache")
    'Mixed headache (migraine and other headache)'
    """
    key = "" if population_group is None else str(population_group)
    return _POPULATIONS.get(key, key.replace("_", " ").capitalize() or "Population not stated")


def _included(value: Any) -> bool:
    """``include_default`` of a trial: missing counts as not included."""
    import pandas as pd

    return bool(not pd.isna(value) and bool(value))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class Comparison:
    """One comparison of the review.

    Attributes
    ----------
    route : {"iv", "oral"}
    kind : str
        Comparator class: ``placebo``, ``active``, ``add-on``, ``usual care``
        or ``unclear`` (see the module docstring).
    comparator : str
        What the control group received, as ``arms.csv`` names it.
    trials : tuple of str
        Trial ids with at least one magnesium arm and one control arm of this
        comparison (included by default or not: the analyses decide).
    """

    route: str
    kind: str
    comparator: str
    trials: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Stable identifier, e.g. ``iv-active-metoclopramide`` or ``oral-placebo``."""
        tail = "" if self.kind in ("placebo", "usual care") else f"-{_slug(self.comparator)}"
        return f"{self.route}-{_slug(self.kind)}{tail}"

    @property
    def intervention(self) -> str:
        """The intervention in a sentence, e.g. ``intravenous magnesium``."""
        return ROUTE_NAMES[self.route][1]

    @property
    def label(self) -> str:
        """The comparison in words, e.g. ``IV magnesium vs placebo``."""
        mg = ROUTE_NAMES[self.route][0]
        if self.kind == "add-on":
            return f"{mg} added to {self.comparator} vs {self.comparator} alone"
        if self.kind == "usual care":
            return f"{mg} added to usual care vs usual care"
        return f"{mg} vs {self.comparator}"

    @property
    def control(self) -> str:
        """The control group in words, for "risk with ..." columns."""
        if self.kind == "add-on":
            return f"{self.comparator} alone"
        return self.comparator

    def __str__(self) -> str:
        return self.label


def comparisons(route: str | None = None, *, include_excluded: bool = False,
                path: str | os.PathLike[str] | None = None) -> list[Comparison]:
    """Every comparison the trial data allow, in the review's order.

    Parameters
    ----------
    route : {"iv", "oral"}, optional
        Keep one route.
    include_excluded : bool
        Also list trials left out of the analyses by default (non-randomized
        studies, combination products: ``trials.csv`` ``include_default``),
        and comparisons only they make.
    path : path, optional
        Data folder (default: the repository's ``data/``).

    Returns
    -------
    list of Comparison
        Sorted by route (IV first), class (:data:`CLASS_ORDER`) and comparator.

    Examples
    --------
    >>> [c.label for c in comparisons("iv")][:2]
    ['IV magnesium vs placebo', 'IV magnesium added to metoclopramide vs metoclopramide alone']
    """
    import pandas as pd

    from mgmeta.review import data as mgdata

    if route is not None and route not in ROUTE_NAMES:
        raise DataError(f"route must be 'iv' or 'oral', got {route!r}", field="route")
    trials = mgdata.load_trials(path).set_index("trial_id")
    arms = mgdata.load_arms(path)
    found: dict[tuple[str, str, str], list[str]] = {}
    for tid, tarms in arms.groupby("trial_id", sort=False):
        troute = str(trials.loc[tid, "route"])
        if route is not None and troute != route:
            continue
        if not include_excluded and not _included(trials.loc[tid, "include_default"]):
            continue

        def tags(a: Any) -> set[str]:
            return set(str(a["comparison"]).split(";")) if not pd.isna(a["comparison"]) else set()

        mg_tags = set().union(*[tags(a) for _, a in tarms[tarms["arm_role"] == "magnesium"].iterrows()])
        for _, a in tarms[tarms["arm_role"] == "control"].iterrows():
            for kind in sorted(tags(a) & mg_tags):
                key = (troute, kind, str(a["comparator"]))
                found.setdefault(key, [])
                if tid not in found[key]:
                    found[key].append(str(tid))
    out = [Comparison(r, k, c, tuple(ids)) for (r, k, c), ids in found.items()]
    return sorted(out, key=lambda c: (list(ROUTE_NAMES).index(c.route), CLASS_ORDER.index(c.kind), c.comparator))


def get_comparison(comparison: str | Comparison, *, path: str | os.PathLike[str] | None = None) -> Comparison:
    """A comparison by its id (``"iv-placebo"``) or label; a :class:`Comparison` is returned as is.

    Raises
    ------
    DataError
        Unknown comparison (the message lists the known ids).
    """
    if isinstance(comparison, Comparison):
        return comparison
    known = comparisons(include_excluded=True, path=path)
    for c in known:
        if comparison in (c.id, c.label):
            return c
    raise DataError(f"unknown comparison {comparison!r}; the data have {', '.join(c.id for c in known)}",
                    field="comparison")
