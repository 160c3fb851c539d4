## core.R -- reference numbers from R metafor for mgmeta's core engine.
##
## Writes core.json (next to this script) with four lists of cases:
##   escalc  effect sizes (OR, RR, RD, PETO, MD, SMD, ROM, GEN) with every continuity-correction setting
##   rma     random/fixed-effects fits for every tau^2 method and both tests (z, knha)
##   mh      Mantel-Haenszel pooled estimates (rma.mh) for OR, RR, RD
##   peto    Peto's one-step odds ratio (rma.peto)
## and a list of the fits that failed in R (failures), with R's error message.
##
## Regenerate with:   cd tests/reference && Rscript core.R
## Needs R with metafor, metadat and jsonlite.  The Python tests only read core.json.
##
## Conventions
## - Every vector is written as a JSON array (even of length 1); NA, NaN and +-Inf are written as null.
##   (escalc itself recodes +-Inf to NA, with a warning.)
## - Numbers are written at full precision (jsonlite digits = NA, i.e. 15 significant digits).
## - Levels are written as proportions (0.95); the R calls pass them as percentages (level = 95).
## - Every R warning raised by a case is kept in that case's "warnings" array.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

## ---------------------------------------------------------------------------------------------------------
## Helpers
## ---------------------------------------------------------------------------------------------------------

## A numeric vector that stays a JSON array even when it has length 1.
arr <- function(x) I(unname(as.numeric(x)))

## A scalar; NULL or a zero-length value becomes NA (written as null).
num <- function(x) if (is.null(x) || length(x) == 0) NA else unname(as.numeric(x))[1]

## Evaluate `expr`, collecting warnings; errors are returned as condition objects, not raised.
run <- function(expr) {
  warns <- character()
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) e),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  list(value = value, warnings = I(unique(warns)), failed = inherits(value, "error"))
}

## Format an argument value the way it would be typed in an R call.
fmt <- function(v) {
  if (is.character(v)) sprintf("'%s'", v)
  else if (is.logical(v)) as.character(v)
  else format(v, digits = 15)
}
fmt_args <- function(args) {
  if (length(args) == 0) return("")
  paste0(", ", paste(sprintf("%s=%s", names(args), vapply(args, fmt, "")), collapse = ", "))
}

failures <- list()
record_failure <- function(id, call, r) {
  msg <- conditionMessage(r$value)
  message(sprintf("FAILED %s: %s", id, msg))
  failures[[length(failures) + 1]] <<- list(id = id, call = call, error = msg, warnings = r$warnings)
}

## ---------------------------------------------------------------------------------------------------------
## Data sets
## ---------------------------------------------------------------------------------------------------------

## Hand-made 2x2 set with every awkward kind of study (events ai/ci out of n1i/n2i):
##   A double zero (no events in either arm), B ordinary, C zero events in the treated arm,
##   D zero events in the control arm, E ordinary, F all events in both arms (bi = di = 0, which
##   metafor's drop00 also drops), G identical arms (yi = 0 for OR/RR/RD).
hand <- data.frame(
  study = c("A", "B", "C", "D", "E", "F", "G"),
  ai  = c(0,  3,  0,  4,  12, 10, 7),
  n1i = c(20, 40, 15, 30, 100, 10, 25),
  ci  = c(0,  6,  2,  0,  18,  9, 7),
  n2i = c(22, 38, 15, 31, 100,  9, 25)
)
hand$bi <- hand$n1i - hand$ai
hand$di <- hand$n2i - hand$ci

## Table 9 of Yusuf et al. (1985): beta blockers; 6 double-zero studies and 2 rows with missing counts.
yusuf9 <- dat.yusuf1985[dat.yusuf1985$table == "9", ]

## Binary data sets: name -> data frame, the expression that names it in calls, and the columns passed
## as escalc / rma.mh arguments (either the ai,bi,ci,di or the ai,n1i,ci,n2i form).
binary_sets <- list(
  bcg       = list(data = dat.bcg, expr = "dat.bcg",
                   cols = c(ai = "tpos", bi = "tneg", ci = "cpos", di = "cneg")),
  nielweise = list(data = dat.nielweise2007, expr = "dat.nielweise2007",
                   cols = c(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  li        = list(data = dat.li2007, expr = "dat.li2007",
                   cols = c(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  yusuf9    = list(data = yusuf9, expr = "dat.yusuf1985[dat.yusuf1985$table == '9', ]",
                   cols = c(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  hine      = list(data = dat.hine1989, expr = "dat.hine1989",
                   cols = c(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")),
  hand      = list(data = hand, expr = "hand",
                   cols = c(ai = "ai", bi = "bi", ci = "ci", di = "di")),
  handN     = list(data = hand, expr = "hand",
                   cols = c(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i"))
)

## The columns of a set as a named list of plain numeric vectors (argument name -> values).
inputs_of <- function(set) lapply(set$cols, function(cn) as.numeric(set$data[[cn]]))

## "ai=tpos, bi=tneg, ..." for the call strings.
cols_call <- function(cols) paste(sprintf("%s=%s", names(cols), cols), collapse = ", ")

## ---------------------------------------------------------------------------------------------------------
## escalc
## ---------------------------------------------------------------------------------------------------------

escalc_cases <- list()

add_escalc <- function(id, dataset, measure, call, inputs, args) {
  r <- run(do.call(escalc, c(list(measure = measure), inputs, args)))
  if (r$failed) return(record_failure(id, call, r))
  escalc_cases[[length(escalc_cases) + 1]] <<- list(
    id = id, dataset = dataset, call = call, measure = measure, args = args,
    inputs = lapply(inputs, arr),
    yi = arr(r$value$yi), vi = arr(r$value$vi), warnings = r$warnings
  )
}

## Binary measures: which grid of (to, add, drop00) to run on which data set.
tos <- c("only0", "all", "if0all", "none")
binary_grid <- list(
  bcg       = list(add = c(0.5, 0),       drop00 = FALSE),         # no zero cells
  nielweise = list(add = c(0.5, 0, 0.25), drop00 = c(FALSE, TRUE)),  # single zeros + one double zero
  li        = list(add = c(0.5, 0),       drop00 = FALSE),         # single zeros only
  yusuf9    = list(add = c(0.5),          drop00 = c(FALSE, TRUE)),  # many double zeros
  hand      = list(add = c(0.5, 0, 0.25), drop00 = c(FALSE, TRUE)),  # every kind, ai,bi,ci,di form
  handN     = list(add = c(0.5, 0, 0.25), drop00 = c(FALSE, TRUE))   # same, ai,n1i,ci,n2i form
)

for (name in names(binary_grid)) {
  set <- binary_sets[[name]]
  grid <- binary_grid[[name]]
  for (measure in c("OR", "RR", "RD", "PETO")) {
    for (to in tos) for (add in grid$add) for (drop00 in grid$drop00) {
      args <- list(add = add, to = to, drop00 = drop00)
      id <- sprintf("%s_%s_%s_add%s%s", name, measure, to, format(add), if (drop00) "_drop00" else "")
      call <- sprintf("escalc(measure='%s', %s, data=%s%s)", measure, cols_call(set$cols), set$expr,
                      fmt_args(args))
      add_escalc(id, name, measure, call, inputs_of(set), args)
    }
  }
}

## Continuous measures, with metafor's default variance type (vtype = "LS" in metafor 3.8).
cont_cols <- c(m1i = "m1i", sd1i = "sd1i", n1i = "n1i", m2i = "m2i", sd2i = "sd2i", n2i = "n2i")
cont_sets <- list(
  normand = list(data = dat.normand1999, expr = "dat.normand1999", measures = c("MD", "SMD", "ROM")),
  curtis  = list(data = dat.curtis1998,  expr = "dat.curtis1998",  measures = c("MD", "SMD", "ROM"))
)
for (name in names(cont_sets)) {
  set <- cont_sets[[name]]
  inputs <- lapply(cont_cols, function(cn) as.numeric(set$data[[cn]]))
  for (measure in set$measures) {
    id <- sprintf("%s_%s", name, measure)
    call <- sprintf("escalc(measure='%s', %s, data=%s)", measure, cols_call(cont_cols), set$expr)
    ## vtype is not passed (metafor's default); it is recorded in args for the reader.
    r <- run(escalc(measure = measure, m1i = inputs$m1i, sd1i = inputs$sd1i, n1i = inputs$n1i,
                    m2i = inputs$m2i, sd2i = inputs$sd2i, n2i = inputs$n2i))
    if (r$failed) { record_failure(id, call, r); next }
    escalc_cases[[length(escalc_cases) + 1]] <- list(
      id = id, dataset = name, call = call, measure = measure,
      args = list(vtype = formals(escalc)$vtype),
      inputs = lapply(inputs, arr),
      yi = arr(r$value$yi), vi = arr(r$value$vi), warnings = r$warnings
    )
  }
}

no_args <- setNames(list(), character())  # written as {}

## Generic measure: yi with vi, and yi with standard errors (hackshaw: log OR and its 95% CI).
hs <- dat.hackshaw1998
hs_sei <- (log(hs$or.ub) - log(hs$or.lb)) / (2 * qnorm(0.975))
add_escalc("hackshaw_GEN_vi", "hackshaw", "GEN",
           "escalc(measure='GEN', yi=yi, vi=vi, data=dat.hackshaw1998)",
           list(yi = hs$yi, vi = hs$vi), no_args)
add_escalc("hackshaw_GEN_sei", "hackshaw", "GEN",
           "escalc(measure='GEN', yi=yi, sei=(log(or.ub) - log(or.lb)) / (2*qnorm(0.975)), data=dat.hackshaw1998)",
           list(yi = hs$yi, sei = hs_sei), no_args)

## ---------------------------------------------------------------------------------------------------------
## rma
## ---------------------------------------------------------------------------------------------------------

bcg_rr <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_or <- escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
normand_smd <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                  data = dat.normand1999)
bangert <- dat.bangertdrowns2004[complete.cases(dat.bangertdrowns2004[, c("yi", "vi")]), ]
hine_rd <- escalc("RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)
niel_or <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.nielweise2007,
              add = 1/2, to = "only0")
## Hand-made homogeneous set: Q well below k - 1, so tau^2 = 0 for every truncating estimator.
homog <- data.frame(yi = c(0.10, 0.20, 0.15, 0.12, 0.18, 0.14),
                    vi = c(0.040, 0.050, 0.030, 0.060, 0.050, 0.045))

## Data sets for rma: yi, vi as passed, how they were made, and the level.
rma_sets <- list(
  bcg_RR = list(yi = bcg_rr$yi, vi = bcg_rr$vi, level = 95,
    data_call = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"),
  bcg_OR = list(yi = bcg_or$yi, vi = bcg_or$vi, level = 95,
    data_call = "escalc(measure='OR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"),
  normand_SMD = list(yi = normand_smd$yi, vi = normand_smd$vi, level = 95,
    data_call = "escalc(measure='SMD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)"),
  hackshaw = list(yi = hs$yi, vi = hs$vi, level = 95,
    data_call = "dat.hackshaw1998[, c('yi', 'vi')]  (k = 37)"),
  bangert = list(yi = bangert$yi, vi = bangert$vi, level = 95,
    data_call = "dat.bangertdrowns2004[complete.cases(dat.bangertdrowns2004[, c('yi','vi')]), c('yi','vi')]  (k = 48; yi and vi have no missing values, the NAs are in moderators)"),
  hine_RD = list(yi = hine_rd$yi, vi = hine_rd$vi, level = 95,
    data_call = "escalc(measure='RD', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.hine1989)  (tau^2 = 0 for all methods but SJ)"),
  homog = list(yi = homog$yi, vi = homog$vi, level = 95,
    data_call = "hand-made homogeneous set: yi = c(0.10, 0.20, 0.15, 0.12, 0.18, 0.14), vi = c(0.040, 0.050, 0.030, 0.060, 0.050, 0.045)"),
  bcg2_RR = list(yi = bcg_rr$yi[1:2], vi = bcg_rr$vi[1:2], level = 95,
    data_call = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)[1:2, ]  (k = 2)"),
  nielweise_OR = list(yi = niel_or$yi, vi = niel_or$vi, level = 95,
    data_call = "escalc(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.nielweise2007, add=1/2, to='only0')  (zero cells in 6 studies; study 15 is a double zero, kept with 1/2 added since escalc's drop00 defaults to FALSE)"),
  bcg_RR_level90 = list(yi = bcg_rr$yi, vi = bcg_rr$vi, level = 90,
    data_call = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)")
)

methods <- c("EE", "FE", "DL", "REML", "ML", "PM", "HE", "SJ", "HS", "EB")
tests <- c("z", "knha")

rma_cases <- list()

## One rma fit and its follow-ups (predict, weights, confint) in the JSON layout.
add_rma <- function(id, dataset, set, method, test) {
  call <- sprintf("rma(yi, vi, method='%s', test='%s', level=%s)", method, test, format(set$level))
  yi <- set$yi  # plain names, so that metafor's argument checks see "yi" and "vi"
  vi <- set$vi
  r <- run(rma(yi, vi, method = method, test = test, level = set$level))
  if (r$failed) return(record_failure(id, call, r))
  res <- r$value
  pr <- run(predict(res))
  w <- run(weights(res))
  warns <- c(r$warnings, pr$warnings, w$warnings)

  ## Random part of confint(res) (Q-profile intervals); null for the equal/fixed-effects models.
  ## "confint" uses metafor's defaults: its root finder (uniroot) stops at tol = .Machine$double.eps^0.25
  ## (about 1.2e-4 on the tau^2 scale), so its bounds are only that precise.  "confint_precise" repeats
  ## the same Q-profile intervals with tol = 1e-12 and is the one to compare a precise root finder against.
  random_part <- function(control) {
    ci <- if (is.null(control)) run(confint(res)) else run(confint(res, control = control))
    warns <<- c(warns, ci$warnings)
    if (ci$failed) {
      warns <<- c(warns, paste("confint failed:", conditionMessage(ci$value)))
      return(NULL)
    }
    m <- ci$value$random
    list(tau2 = arr(m["tau^2", ]), tau = arr(m["tau", ]),
         i2 = arr(m["I^2(%)", ]), h2 = arr(m["H^2", ]))
  }
  ci_random <- NULL
  ci_precise <- NULL
  if (!method %in% c("EE", "FE")) {
    ci_random <- random_part(NULL)
    ci_precise <- random_part(list(tol = 1e-12, maxiter = 10000))
  }

  rma_cases[[length(rma_cases) + 1]] <<- list(
    id = id, dataset = dataset, call = call, data_call = set$data_call,
    yi = arr(set$yi), vi = arr(set$vi),
    method = method, test = test, level = set$level / 100,
    out = list(
      estimate = num(res$beta), se = num(res$se), statistic = num(res$zval), pvalue = num(res$pval),
      ci_lower = num(res$ci.lb), ci_upper = num(res$ci.ub),
      df = if (test == "knha") num(res$ddf) else NA,
      pi_lower = num(pr$value$pi.lb), pi_upper = num(pr$value$pi.ub),
      tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), i2 = num(res$I2), h2 = num(res$H2),
      q = num(res$QE), q_pvalue = num(res$QEp), k = num(res$k),
      weights = arr(w$value)
    ),
    confint = ci_random,
    confint_precise = ci_precise,
    warnings = I(unique(warns))
  )
}

for (name in names(rma_sets)) {
  for (method in methods) for (test in tests) {
    add_rma(sprintf("%s_%s_%s", name, method, test), name, rma_sets[[name]], method, test)
  }
}

## k = 1: only the equal-effects model makes sense.  The knha test is tried too (R's error is recorded).
k1 <- list(yi = bcg_rr$yi[1], vi = bcg_rr$vi[1], level = 95,
           data_call = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)[1, ]  (k = 1)")
add_rma("k1_EE_z", "k1", k1, "EE", "z")
add_rma("k1_EE_knha", "k1", k1, "EE", "knha")

## ---------------------------------------------------------------------------------------------------------
## Mantel-Haenszel and Peto
## ---------------------------------------------------------------------------------------------------------
## R's defaults: add = 1/2, to = "only0", drop00 = TRUE apply to the study-level yi/vi (used for Q, I^2, H^2);
## the MH and Peto estimates themselves use the raw counts.  correct = TRUE is the continuity correction of
## the CMH test.  "yi"/"vi" below are the study-level values (null for dropped studies), "k_yi" how many
## entered Q.

mh_sets <- c("bcg", "nielweise", "li", "yusuf9", "hine", "hand", "handN")
mh_defaults <- list(add = 0.5, to = "only0", drop00 = TRUE, correct = TRUE, level = 0.95)

mh_cases <- list()
peto_cases <- list()

binary_out <- function(res) list(
  estimate = num(res$beta), se = num(res$se), statistic = num(res$zval), pvalue = num(res$pval),
  ci_lower = num(res$ci.lb), ci_upper = num(res$ci.ub),
  q = num(res$QE), q_pvalue = num(res$QEp), i2 = num(res$I2), h2 = num(res$H2), k = num(res$k)
)

for (name in mh_sets) {
  set <- binary_sets[[name]]
  inputs <- inputs_of(set)
  for (measure in c("OR", "RR", "RD")) {
    id <- sprintf("%s_MH_%s", name, measure)
    call <- sprintf("rma.mh(measure='%s', %s, data=%s)", measure, cols_call(set$cols), set$expr)
    r <- run(do.call(rma.mh, c(list(measure = measure), inputs)))
    if (r$failed) { record_failure(id, call, r); next }
    res <- r$value
    out <- binary_out(res)
    out$cmh <- num(res$MH); out$cmh_pvalue <- num(res$MHp)
    out$tarone <- num(res$TA); out$tarone_pvalue <- num(res$TAp)
    out$k_yi <- num(res$k.yi)
    mh_cases[[length(mh_cases) + 1]] <- list(
      id = id, dataset = name, call = call, measure = measure,
      inputs = lapply(inputs, arr), args = mh_defaults,
      out = out, yi = arr(res$yi.f), vi = arr(res$vi.f), warnings = r$warnings
    )
  }
  id <- sprintf("%s_PETO", name)
  call <- sprintf("rma.peto(%s, data=%s)", cols_call(set$cols), set$expr)
  r <- run(do.call(rma.peto, inputs))
  if (r$failed) { record_failure(id, call, r); next }
  res <- r$value
  out <- binary_out(res)
  out$k_yi <- num(res$k.yi)
  peto_cases[[length(peto_cases) + 1]] <- list(
    id = id, dataset = name, call = call, measure = "PETO",
    inputs = lapply(inputs, arr), args = mh_defaults[c("add", "to", "drop00", "level")],
    out = out, yi = arr(res$yi.f), vi = arr(res$vi.f), warnings = r$warnings
  )
}

## ---------------------------------------------------------------------------------------------------------
## Write
## ---------------------------------------------------------------------------------------------------------

all_ids <- c(vapply(escalc_cases, `[[`, "", "id"), vapply(rma_cases, `[[`, "", "id"),
             vapply(mh_cases, `[[`, "", "id"), vapply(peto_cases, `[[`, "", "id"))
stopifnot(!anyDuplicated(all_ids))

out <- list(
  r_version = R.version.string,
  metafor_version = packageDescription("metafor")$Version,
  metadat_version = packageDescription("metadat")$Version,
  jsonlite_version = packageDescription("jsonlite")$Version,
  generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  script = "tests/reference/core.R",
  escalc = escalc_cases,
  rma = rma_cases,
  mh = mh_cases,
  peto = peto_cases,
  failures = failures
)
write_json(out, "core.json", auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE)
cat(sprintf("core.json: %d escalc, %d rma, %d mh, %d peto cases; %d failures\n",
            length(escalc_cases), length(rma_cases), length(mh_cases), length(peto_cases),
            length(failures)))
