## metafor_mv.R -- how long does R metafor take for one three-level rma.mv fit?
##
## Times rma.mv(yi, vi, random = ~ 1 | district/school, data = dat.konstantopoulos2011) (56 effects in 11
## districts, REML, metafor's default settings), n_fits times after a warm-up, and prints one JSON line:
## {"ms_per_fit": ..., "n_fits": ..., "sigma2": [...], "beta": ..., "r_version": ..., "metafor_version": ...}.
## benchmarks/mv.py runs it side by side with mgmeta.meta_analysis_mv.
##
## Run:   Rscript benchmarks/metafor_mv.R [n_fits]

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
n_fits <- if (length(args) >= 1) as.integer(args[1]) else 200L
dat <- dat.konstantopoulos2011
fit <- function() rma.mv(yi, vi, random = ~ 1 | district/school, data = dat)
for (i in seq_len(20)) res <- fit()
invisible(gc())
times <- numeric(3)
for (r in 1:3) times[r] <- system.time(for (i in seq_len(n_fits)) fit())[["elapsed"]]
cat(toJSON(list(ms_per_fit = 1000 * min(times) / n_fits, ms_per_fit_repeats = 1000 * times / n_fits,
                n_fits = n_fits, sigma2 = res$sigma2, beta = as.numeric(res$beta), ll = as.numeric(logLik(res)),
                r_version = R.version.string, metafor_version = as.character(packageVersion("metafor"))),
           auto_unbox = TRUE, digits = NA), "\n")
