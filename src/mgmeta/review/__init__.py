"""The magnesium-for-migraine review built on mgmeta.

The generic library (effect sizes, estimators, models, analyses, plots) knows
nothing about magnesium and never imports this subpackage; the review is one
application of it, organised the way a Cochrane review is: comparison ->
outcome -> time point.

- :mod:`mgmeta.review.data`: the trial data of ``data/`` (loading, validation,
  analysis-ready rows with every conversion recorded).
- :mod:`mgmeta.review.comparisons`: the comparisons (route x comparator).
- :mod:`mgmeta.review.outcomes`: one outcome of one comparison, from the data
  to a fitted model, with the review's rules (measure, unit of analysis,
  conversions footnoted, what few studies can support).
- :mod:`mgmeta.review.grade`: GRADE certainty of one outcome of one comparison,
  with written rules, reasons and reviewer overrides (``data/grade.csv``).
- :mod:`mgmeta.review.sof`: summary-of-findings tables in GRADE's layout.
- :mod:`mgmeta.review.reproduction`: the published pooled results, recomputed.
- :mod:`mgmeta.review.figures`: figures that are not forest plots.
"""
