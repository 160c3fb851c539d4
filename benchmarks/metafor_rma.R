## metafor_rma.R -- how long does R metafor take for one random-effects fit?
##
## Times rma(yi, vi, method = "REML") on the first 20 studies of dat.hackshaw1998 (log odds ratios of lung
## cancer in non-smoking women married to smokers), repeated n_fits times, and prints the mean time per fit.
## It also writes that 20-study data set, the REML fit and the timing to hackshaw20.json (next to this
## script), so that the Python benchmark fits exactly the same numbers.
##
## Run from the repository root or from benchmarks/:   Rscript benchmarks/metafor_rma.R [n_fits]

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
n_fits <- if (length(args) >= 1) as.integer(args[1]) else 2000L

## Write next to this script, wherever it is run from.
script_dir <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f) == 1) dirname(normalizePath(f)) else "."
})

dat <- dat.hackshaw1998[1:20, ]
yi <- dat$yi
vi <- dat$vi

fit <- rma(yi, vi, method = "REML")

## Warm up (byte compilation, method dispatch), then time the loop.
for (i in seq_len(50)) rma(yi, vi, method = "REML")
invisible(gc())
elapsed <- system.time(for (i in seq_len(n_fits)) rma(yi, vi, method = "REML"))[["elapsed"]]
ms_per_fit <- 1000 * elapsed / n_fits

cat(sprintf("R %s, metafor %s\n", getRversion(), packageDescription("metafor")$Version))
cat(sprintf("rma(yi, vi, method='REML'), k = %d: %d fits in %.3f s, mean %.4f ms per fit\n",
            length(yi), n_fits, elapsed, ms_per_fit))

write_json(
  list(
    description = "First 20 studies of metadat::dat.hackshaw1998 (log odds ratios, yi, and their sampling variances, vi)",
    source = "dat.hackshaw1998[1:20, c('yi', 'vi')]",
    study = I(dat$study), author = I(dat$author), year = I(dat$year),
    yi = I(yi), vi = I(vi),
    reml = list(call = "rma(yi, vi, method='REML')", estimate = as.numeric(fit$beta), se = fit$se,
                tau2 = fit$tau2, i2 = fit$I2, q = fit$QE),
    r_timing = list(script = "benchmarks/metafor_rma.R", r_version = R.version.string,
                    metafor_version = packageDescription("metafor")$Version,
                    n_fits = n_fits, ms_per_fit = ms_per_fit,
                    generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"))
  ),
  file.path(script_dir, "hackshaw20.json"),
  auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE
)
