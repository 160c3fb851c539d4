"""The magnesium-for-migraine review built on mgmeta.

The generic library (effect sizes, estimators, models, analyses, plots) knows
nothing about magnesium; this subpackage is one application of it, organised
the way a Cochrane review is: comparison -> outcome -> time point.

- :mod:`mgmeta.review.data`: the trial data of ``data/`` (loading, validation,
  analysis-ready rows with every conversion recorded).
- :mod:`mgmeta.review.outcomes`: one outcome of one comparison, from the data
  to a fitted model.
- :mod:`mgmeta.review.grade`: GRADE certainty of one outcome of one comparison,
  with written rules, reasons and reviewer overrides (``data/grade.csv``).
"""
