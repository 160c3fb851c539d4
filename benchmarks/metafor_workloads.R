## metafor_workloads.R -- times the workloads of benchmarks/run.py in R metafor.
##
## Each workload is timed on a part of the work (a sample of GOSH subsets, some permutations, some
## bootstrap draws) and extrapolated linearly to the full workload, because the full runs take minutes to
## hours in metafor (GOSH with REML of 16 studies fits 65,535 models one rma() call at a time). The JSON
## written to stdout says, for every workload, what was run, how many items, the elapsed time, and the
## extrapolated time of the full workload.
##
## Data: the first 20 studies of metadat::dat.hackshaw1998 (as benchmarks/hackshaw20.json); moderators for
## the meta-regression: year of publication centred at 1985, and an indicator of a cohort design.
##
## Run:   Rscript benchmarks/metafor_workloads.R [scale]      (scale multiplies the sample sizes; default 1)
## Called by benchmarks/run.py, which reads the JSON from stdout.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
scale <- if (length(args) >= 1) as.numeric(args[1]) else 1
n_of <- function(n) max(1L, as.integer(round(n * scale)))

d <- dat.hackshaw1998[1:20, ]
d$year_c <- d$year - 1985
d$cohort <- as.numeric(d$design == "cohort")

## the "hard" data set (benchmarks/hard20.json, written by make_hard20.py): REML takes 30 iterations
script_dir <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f) == 1) dirname(normalizePath(f)) else "."
})
hj <- fromJSON(file.path(script_dir, "hard20.json"))
h <- data.frame(yi = hj$yi, vi = hj$vi, x1 = hj$x1, x2 = hj$x2)

## wall-clock seconds, with the CPU seconds (user + system) as attribute "cpu"
timed <- function(expr) {
  invisible(gc())
  st <- system.time(expr)
  structure(unname(st[["elapsed"]]), cpu = unname(st[["user.self"]] + st[["sys.self"]]))
}

out <- list()
add <- function(name, call, n_done, n_target, elapsed, note = "") {
  ## full_s: the time of the whole workload (n_target items), extrapolated linearly from n_done items
  out[[name]] <<- list(call = call, n_done = n_done, n_target = n_target, elapsed_s = as.numeric(elapsed),
                       cpu_s = attr(elapsed, "cpu"), full_cpu_s = attr(elapsed, "cpu") / n_done * n_target,
                       per_item_ms = 1000 * as.numeric(elapsed) / n_done, full_s = as.numeric(elapsed) / n_done * n_target,
                       extrapolated = n_done < n_target, note = note)
}

## 1. one REML fit of 20 studies
for (i in 1:20) rma(yi, vi, data = d, method = "REML")
n <- n_of(300)
el <- timed(for (i in seq_len(n)) rma(yi, vi, data = d, method = "REML"))
add("single_reml_k20", "rma(yi, vi, data=d, method='REML')", n, 1, el, "mean time of one fit (n_done fits timed)")

## 1b. single fits on both data sets: REML (the hard data: 30 Fisher-scoring iterations), DL, PM
for (m in c("REML", "DL", "PM")) for (which in c("k20", "hard20")) {
  dd <- if (which == "k20") d else h
  name <- sprintf("single_%s_%s", tolower(m), which)
  if (name == "single_reml_k20") next
  for (i in 1:20) rma(yi, vi, data = dd, method = m)
  n <- n_of(300)
  el <- timed(for (i in seq_len(n)) rma(yi, vi, data = dd, method = m))
  add(name, sprintf("rma(yi, vi, data=%s, method='%s')", if (which == "k20") "d" else "h", m), n, 1, el,
      "mean time of one fit (n_done fits timed)")
}

## 2. GOSH, REML, 16 studies: 65,535 subsets
fit16 <- rma(yi, vi, data = d[1:16, ], method = "REML")
n <- n_of(400)
set.seed(1)
el <- timed(gosh(fit16, subsets = n, progbar = FALSE))
add("gosh_reml_k16", sprintf("gosh(rma(yi, vi, data=d[1:16,], method='REML'), subsets=%d)", n), n, 65535, el,
    "a random sample of subsets, extrapolated to all 65,535")

## 3. GOSH, DL, 20 studies: 1,048,575 subsets
fit20 <- rma(yi, vi, data = d, method = "DL")
n <- n_of(20000)
set.seed(1)
el <- timed(gosh(fit20, subsets = n, progbar = FALSE))
add("gosh_dl_k20", sprintf("gosh(rma(yi, vi, data=d, method='DL'), subsets=%d)", n), n, 1048575, el,
    "a random sample of subsets, extrapolated to all 1,048,575")

## 4. permutation test of a REML meta-regression with two moderators: 10,000 permutations
fm <- rma(yi, vi, mods = ~ year_c + cohort, data = d, method = "REML")
n <- n_of(300)
set.seed(1)
el <- timed(permutest(fm, iter = n, progbar = FALSE))
add("permutest_reml_2mods", sprintf("permutest(rma(yi, vi, mods=~year_c+cohort, data=d, method='REML'), iter=%d)",
                                    n), n, 10000, el, "extrapolated to 10,000 permutations")

## 4b. the same permutation test on the hard data (moderators x1, x2)
fmh <- rma(yi, vi, mods = ~ x1 + x2, data = h, method = "REML")
n <- n_of(300)
set.seed(1)
el <- timed(permutest(fmh, iter = n, progbar = FALSE))
add("permutest_reml_2mods_hard20", sprintf("permutest(rma(yi, vi, mods=~x1+x2, data=h, method='REML'), iter=%d)", n),
    n, 10000, el, "extrapolated to 10,000 permutations")

## 5. leave-one-out of the REML fit of 20 studies
fit <- rma(yi, vi, data = d, method = "REML")
n <- n_of(20)
el <- timed(for (i in seq_len(n)) leave1out(fit))
add("leave_one_out_k20", "leave1out(rma(yi, vi, data=d, method='REML'))", n, 1, el, "mean of n_done runs")

## 6. parametric bootstrap, 10,000 draws of the REML model (one rma() per draw, as with the boot package)
mu <- as.numeric(fit$beta); t2 <- fit$tau2
n <- n_of(500)
set.seed(1)
el <- timed(for (b in seq_len(n)) {
  ys <- rnorm(nrow(d), mu, sqrt(d$vi + t2))
  r <- try(rma(ys, d$vi, method = "REML"), silent = TRUE)
})
add("bootstrap_reml_k20", "rma(rnorm(k, mu, sqrt(vi + tau2)), vi, method='REML') per draw", n, 10000, el,
    "extrapolated to 10,000 draws")

## 7. simulation: 100,000 meta-analyses of 10 studies, DL/REML/PM x z/knha (6 rma() calls per replicate)
n <- n_of(100)
set.seed(1)
el <- timed(for (r in seq_len(n)) {
  v <- runif(10, 0.01, 0.2)
  y <- rnorm(10, 0.2, sqrt(v + 0.05))
  for (m in c("DL", "REML", "PM")) for (tst in c("z", "knha"))
    try(rma(y, v, method = m, test = tst), silent = TRUE)
})
add("simulate_k10", "6 rma() calls per replicate (DL, REML, PM x z, knha)", n, 100000, el,
    "extrapolated to 100,000 replicates")

cat(toJSON(list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
                scale = scale, workloads = out),
           auto_unbox = TRUE, digits = NA, pretty = TRUE), "\n")
