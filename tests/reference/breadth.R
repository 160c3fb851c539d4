## breadth.R -- reference numbers from R metafor for mgmeta's measures, estimators, tests, weights,
## fit statistics, likelihood-ratio tests, BLUPs and the Mantel-Haenszel additions (issue 15, items 1-4).
##
## Writes breadth.json (next to this script) with these lists of cases:
##   escalc   single proportions, incidence rates, single means, correlations, two-group rates, SMDH,
##            change scores, and the vtype options of the core measures
##   transf   metafor's transf.* back-transformations
##   rma      rma.uni fits with the tau^2 methods HSk, GENQ, PMM, SJIT, DLIT, CE, MP (and the core ones),
##            test = "t" / "adhoc", weights=, weighted=FALSE; each with its fit statistics, blup and ranef
##   mods     rma.uni fits with moderators (tau^2 estimators with a design matrix, fit statistics)
##   anova    likelihood-ratio tests of nested models (anova(full, reduced))
##   mh       rma.mh with person-time data (IRR, IRD) and the Breslow-Day / Cochran statistics for OR
## and failures (fits R refused, with R's message).
##
## Regenerate with:   cd tests/reference && Rscript breadth.R
## Needs R with metafor, metadat, jsonlite (and gsl for measure UCOR). The Python tests only read breadth.json.
## Conventions as core.R: every vector is a JSON array; NA/NaN/Inf are null; 15 significant digits;
## levels as proportions; every R warning of a case is kept in its "warnings" array.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

arr <- function(x) I(unname(as.numeric(x)))
num <- function(x) if (is.null(x) || length(x) == 0) NA else unname(as.numeric(x))[1]
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
failures <- list()
record_failure <- function(id, call, r) {
  msg <- conditionMessage(r$value)
  message(sprintf("FAILED %s: %s", id, msg))
  failures[[length(failures) + 1]] <<- list(id = id, call = call, error = msg, warnings = r$warnings)
}

## ---------------------------------------------------------------------------------------------------------
## Data sets
## ---------------------------------------------------------------------------------------------------------

## Hand-made single-group counts with every awkward kind of study: no events, all events, ordinary.
props <- data.frame(xi = c(0, 5, 12, 20, 3), ni = c(15, 40, 12, 50, 9))
cors <- data.frame(ri = c(0, -0.9, 0.5, 0.99, 0.02), ni = c(5, 6, 8, 200, 1000))
rates <- data.frame(xi = c(0, 4, 17, 2), ti = c(120.5, 300, 1020, 45))
## Hand-made two-group person-time data: a double zero, single zeros, ordinary studies.
rates2 <- data.frame(x1i = c(0, 0, 5, 12, 3), t1i = c(100, 210, 350, 800, 90),
                     x2i = c(0, 4, 0, 20, 7), t2i = c(95, 190, 400, 760, 110))
## Pre-post data of the treatment groups in Morris (2008), Table 1 (doi:10.1177/1094428106291059),
## as used in metafor's escalc examples of the change-score measures.
morris <- data.frame(m_pre = c(30.6, 23.5, 0.5, 53.4, 35.6), m_post = c(38.5, 26.8, 7.0, 75.9, 36.0),
                     sd_pre = c(15.0, 3.1, 0.1, 14.5, 4.7), sd_post = c(11.6, 4.1, 0.1, 4.4, 4.6),
                     ni = c(20, 50, 9, 10, 14), ri = c(0.47, 0.64, 0.77, 0.89, 0.44))

## ---------------------------------------------------------------------------------------------------------
## escalc
## ---------------------------------------------------------------------------------------------------------

escalc_cases <- list()
add_escalc <- function(id, dataset, measure, call, inputs, args = list()) {
  r <- run(do.call(escalc, c(list(measure = measure), inputs, args)))
  if (r$failed) return(record_failure(id, call, r))
  escalc_cases[[length(escalc_cases) + 1]] <<- list(
    id = id, dataset = dataset, call = call, measure = measure,
    args = if (length(args)) args else setNames(list(), character()),
    inputs = lapply(inputs, arr), yi = arr(r$value$yi), vi = arr(r$value$vi), warnings = r$warnings)
}
argstr <- function(args) if (length(args) == 0) "" else
  paste0(", ", paste(sprintf("%s=%s", names(args), sapply(args, function(v)
    if (is.character(v)) sprintf("'%s'", v) else format(v))), collapse = ", "))
cols_call <- function(cols) paste(sprintf("%s=%s", names(cols), cols), collapse = ", ")
from_cols <- function(data, cols) lapply(cols, function(cn) as.numeric(data[[cn]]))

## what data set, which columns, which measures, which option sets
grid <- list(
  list(name = "pritz", expr = "dat.pritz1997", data = dat.pritz1997, cols = c(xi = "xi", ni = "ni"),
       measures = c("PR", "PLN", "PLO", "PAS", "PFT")),
  list(name = "debruin", expr = "dat.debruin2009", data = dat.debruin2009, cols = c(xi = "xi", ni = "ni"),
       measures = c("PR", "PLN", "PLO", "PAS", "PFT")),
  list(name = "props", expr = "props", data = props, cols = c(xi = "xi", ni = "ni"),
       measures = c("PR", "PLN", "PLO", "PAS", "PFT")),
  list(name = "hart1", expr = "dat.hart1999", data = dat.hart1999, cols = c(xi = "x1i", ti = "t1i"),
       measures = c("IR", "IRLN", "IRS", "IRFT")),
  list(name = "rates", expr = "rates", data = rates, cols = c(xi = "xi", ti = "ti"),
       measures = c("IR", "IRLN", "IRS", "IRFT")),
  list(name = "normand1", expr = "dat.normand1999", data = dat.normand1999,
       cols = c(mi = "m1i", sdi = "sd1i", ni = "n1i"), measures = c("MN", "MNLN", "CVLN", "SDLN")),
  list(name = "molloy", expr = "dat.molloy2014", data = dat.molloy2014, cols = c(ri = "ri", ni = "ni"),
       measures = c("COR", "UCOR", "ZCOR")),
  list(name = "cors", expr = "cors", data = cors, cols = c(ri = "ri", ni = "ni"),
       measures = c("COR", "UCOR", "ZCOR")),
  list(name = "hart", expr = "dat.hart1999", data = dat.hart1999,
       cols = c(x1i = "x1i", t1i = "t1i", x2i = "x2i", t2i = "t2i"), measures = c("IRR", "IRD", "IRSD")),
  list(name = "nielweise2008", expr = "dat.nielweise2008", data = dat.nielweise2008,
       cols = c(x1i = "x1i", t1i = "t1i", x2i = "x2i", t2i = "t2i"), measures = c("IRR", "IRD", "IRSD")),
  list(name = "rates2", expr = "rates2", data = rates2,
       cols = c(x1i = "x1i", t1i = "t1i", x2i = "x2i", t2i = "t2i"), measures = c("IRR", "IRD", "IRSD")),
  list(name = "normand", expr = "dat.normand1999", data = dat.normand1999,
       cols = c(m1i = "m1i", sd1i = "sd1i", n1i = "n1i", m2i = "m2i", sd2i = "sd2i", n2i = "n2i"),
       measures = c("SMDH")),
  list(name = "morris", expr = "morris", data = morris,
       cols = c(m1i = "m_post", m2i = "m_pre", sd1i = "sd_post", sd2i = "sd_pre", ni = "ni", ri = "ri"),
       measures = c("MC", "SMCC", "SMCRH")),
  list(name = "morris", expr = "morris", data = morris,
       cols = c(m1i = "m_post", m2i = "m_pre", sd1i = "sd_pre", ni = "ni", ri = "ri"),
       measures = c("SMCR"))
)
## option sets per measure (besides metafor's defaults)
options_for <- function(measure, name) {
  out <- list(list())
  vt <- list(PR = c("UB", "AV"), PLN = "AV", PLO = "AV", COR = "AV", UCOR = c("UB", "AV"),
             SMDH = "LS2", SMCC = "LS2", SMCR = "LS2")[[measure]]
  for (v in vt) out[[length(out) + 1]] <- list(vtype = v)
  if (name %in% c("props", "rates", "rates2")) {
    for (to in c("all", "if0all", "none")) out[[length(out) + 1]] <- list(add = 0.5, to = to)
    out[[length(out) + 1]] <- list(add = 0.25, to = "only0")
    if (measure %in% c("PAS", "PFT", "IRS", "IRFT", "IRSD")) out[[length(out) + 1]] <- list(add = 0.5)
    if (name == "rates2") out[[length(out) + 1]] <- list(drop00 = TRUE)
  }
  out
}
for (g in grid) for (measure in g$measures) for (args in options_for(measure, g$name)) {
  tag <- if (length(args)) paste0("_", paste(names(args), sapply(args, format), sep = "", collapse = "_")) else ""
  id <- sprintf("%s_%s%s", g$name, measure, tag)
  call <- sprintf("escalc(measure='%s', %s, data=%s%s)", measure, cols_call(g$cols), g$expr, argstr(args))
  add_escalc(id, g$name, measure, call, from_cols(g$data, g$cols), args)
}
## vtype options of the core measures
cont <- c(m1i = "m1i", sd1i = "sd1i", n1i = "n1i", m2i = "m2i", sd2i = "sd2i", n2i = "n2i")
for (mv in list(c("MD", "HO"), c("SMD", "UB"), c("SMD", "LS2"), c("SMD", "AV"), c("ROM", "HO"), c("ROM", "AV"),
                c("ROM", "AVHO"))) {
  args <- list(vtype = mv[2])
  add_escalc(sprintf("normand_%s_vtype%s", mv[1], mv[2]), "normand", mv[1],
             sprintf("escalc(measure='%s', %s, data=dat.normand1999%s)", mv[1], cols_call(cont), argstr(args)),
             from_cols(dat.normand1999, cont), args)
}
bin <- c(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")
for (v in c("UB", "AV")) for (d00 in c(FALSE, TRUE)) {
  args <- list(vtype = v, drop00 = d00)
  add_escalc(sprintf("nielweise2007_RD_vtype%s%s", v, if (d00) "_drop00" else ""), "nielweise2007", "RD",
             sprintf("escalc(measure='RD', %s, data=dat.nielweise2007%s)", cols_call(bin), argstr(args)),
             from_cols(dat.nielweise2007, bin), args)
}
## a vtype per study (escalc's vector vtype): each study's variance from its own estimator, "AV" still
## averaged over all studies
vec_cases <- list(
  list("pritz", "PR", "dat.pritz1997", c(xi = "xi", ni = "ni"), c("LS", "AV", "UB")),
  list("pritz", "PLO", "dat.pritz1997", c(xi = "xi", ni = "ni"), c("AV", "LS")),
  list("molloy", "UCOR", "dat.molloy2014", c(ri = "ri", ni = "ni"), c("UB", "LS", "AV")),
  list("molloy", "COR", "dat.molloy2014", c(ri = "ri", ni = "ni"), c("LS", "AV")),
  list("normand", "SMD", "dat.normand1999", cont, c("LS", "UB", "AV", "LS2")),
  list("normand", "MD", "dat.normand1999", cont, c("HO", "LS")),
  list("normand", "ROM", "dat.normand1999", cont, c("LS", "HO", "AV", "AVHO")),
  list("nielweise2007", "RD", "dat.nielweise2007", bin, c("UB", "LS", "AV")),
  list("morris", "SMCR", "morris", c(m1i = "m_post", m2i = "m_pre", sd1i = "sd_pre", ni = "ni", ri = "ri"),
       c("LS2", "LS"))
)
for (vc in vec_cases) {
  data <- eval(parse(text = vc[[3]]))
  vt <- rep(vc[[5]], length.out = nrow(data))
  add_escalc(sprintf("%s_%s_vtype_per_study", vc[[1]], vc[[2]]), vc[[1]], vc[[2]],
             sprintf("escalc(measure='%s', %s, data=%s, vtype=rep(c(%s), length.out=%d))", vc[[2]],
                     cols_call(vc[[4]]), vc[[3]], paste(sprintf("'%s'", vc[[5]]), collapse = ", "), nrow(data)),
             from_cols(data, vc[[4]]), list(vtype = I(vt)))
}

## ---------------------------------------------------------------------------------------------------------
## transf
## ---------------------------------------------------------------------------------------------------------

transf_cases <- list()
add_transf <- function(id, fun, x, value, call, extra = list()) {
  transf_cases[[length(transf_cases) + 1]] <<- c(list(id = id, fun = fun, call = call, x = arr(x),
                                                      value = arr(value)), lapply(extra, arr))
}
xs <- c(-3, -0.5, 0, 0.2, 1.1, 2.5)
add_transf("ilogit", "transf.ilogit", xs, transf.ilogit(xs), "transf.ilogit(x)")
add_transf("logit", "transf.logit", c(0.01, 0.3, 0.5, 0.9), transf.logit(c(0.01, 0.3, 0.5, 0.9)), "transf.logit(x)")
add_transf("ztor", "transf.ztor", xs, transf.ztor(xs), "transf.ztor(x)")
add_transf("rtoz", "transf.rtoz", c(-0.9, 0, 0.3, 0.7), transf.rtoz(c(-0.9, 0, 0.3, 0.7)), "transf.rtoz(x)")
add_transf("iarcsin", "transf.iarcsin", c(-0.1, 0.2, 0.8, 1.5, 1.7), transf.iarcsin(c(-0.1, 0.2, 0.8, 1.5, 1.7)),
           "transf.iarcsin(x)")
add_transf("isqrt", "transf.isqrt", c(-0.2, 0, 0.3, 2), transf.isqrt(c(-0.2, 0, 0.3, 2)), "transf.isqrt(x)")
pft_x <- c(0.01, 0.05, 0.3, 0.8, 1.2, 1.55, 1.6)
add_transf("ipft", "transf.ipft", pft_x, transf.ipft(pft_x, ni = c(10, 20, 30, 40, 50, 60, 70)),
           "transf.ipft(x, ni=c(10, 20, 30, 40, 50, 60, 70))", list(ni = c(10, 20, 30, 40, 50, 60, 70)))
add_transf("ipft_hm", "transf.ipft.hm", pft_x, transf.ipft.hm(pft_x, targs = list(ni = dat.pritz1997$ni)),
           "transf.ipft.hm(x, targs=list(ni=dat.pritz1997$ni))", list(ni = dat.pritz1997$ni))
add_transf("pft", "transf.pft", c(0, 0.2, 0.5, 1), transf.pft(c(0, 0.2, 0.5, 1), ni = c(10, 20, 30, 40)),
           "transf.pft(x, ni=c(10, 20, 30, 40))", list(ni = c(10, 20, 30, 40)))
add_transf("irft", "transf.irft", c(0, 0.01, 0.2), transf.irft(c(0, 0.01, 0.2), ti = c(100, 50, 10)),
           "transf.irft(x, ti=c(100, 50, 10))", list(ti = c(100, 50, 10)))
irx <- c(0.001, 0.05, 0.2, 0.6)
add_transf("iirft", "transf.iirft", irx, transf.iirft(irx, ti = c(100, 50, 10, 5)),
           "transf.iirft(x, ti=c(100, 50, 10, 5))", list(ti = c(100, 50, 10, 5)))
for (tf in c("exp", "ilogit", "ztor")) {
  f <- get(sprintf("transf.%s.int", tf))
  v <- sapply(c(-1, 0.3, 1.2), f, targs = list(tau2 = 0.4))
  add_transf(sprintf("%s_int", tf), sprintf("transf.%s.int", tf), c(-1, 0.3, 1.2), v,
             sprintf("sapply(x, transf.%s.int, targs=list(tau2=0.4))", tf), list(tau2 = 0.4))
}

## ---------------------------------------------------------------------------------------------------------
## rma: estimators, tests, weights (each with fit statistics, blup and ranef)
## ---------------------------------------------------------------------------------------------------------

bcg_rr <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
li_or <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
normand_smd <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                      data = dat.normand1999)
molloy_z <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
pritz_pft <- escalc("PFT", xi = xi, ni = ni, data = dat.pritz1997)
homog <- data.frame(yi = c(0.10, 0.12, 0.08, 0.11, 0.09, 0.10), vi = c(0.02, 0.03, 0.025, 0.04, 0.02, 0.03))
sets <- list(
  bcg = list(d = bcg_rr, call = "escalc('RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"),
  li = list(d = li_or, call = "escalc('OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007)"),
  normand = list(d = normand_smd, call = "escalc('SMD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)"),
  molloy = list(d = molloy_z, call = "escalc('ZCOR', ri=ri, ni=ni, data=dat.molloy2014)"),
  pritz = list(d = pritz_pft, call = "escalc('PFT', xi=xi, ni=ni, data=dat.pritz1997)"),
  homog = list(d = homog, call = "data.frame(yi=..., vi=...) (hand-made, homogeneous)")
)
## sample-size weights of each set
size <- list(bcg = dat.bcg$tpos + dat.bcg$tneg + dat.bcg$cpos + dat.bcg$cneg,
             li = dat.li2007$n1i + dat.li2007$n2i, normand = dat.normand1999$n1i + dat.normand1999$n2i,
             molloy = dat.molloy2014$ni, pritz = dat.pritz1997$ni, homog = c(50, 80, 60, 30, 70, 55))

fitstats_of <- function(res) {
  fs <- res$fit.stats
  list(ll_ml = fs["ll", "ML"], dev_ml = fs["dev", "ML"], aic_ml = fs["AIC", "ML"], bic_ml = fs["BIC", "ML"],
       aicc_ml = fs["AICc", "ML"], ll_reml = fs["ll", "REML"], dev_reml = fs["dev", "REML"],
       aic_reml = fs["AIC", "REML"], bic_reml = fs["BIC", "REML"], aicc_reml = fs["AICc", "REML"],
       parms = res$parms)
}
lr <- function(x) list(pred = arr(x$pred), se = arr(x$se), pi_lower = arr(x$pi.lb), pi_upper = arr(x$pi.ub))
out_of <- function(res) {
  pr <- predict(res)
  list(estimate = num(res$beta), se = num(res$se), statistic = num(res$zval), pvalue = num(res$pval),
       ci_lower = num(res$ci.lb), ci_upper = num(res$ci.ub), df = num(res$ddf),
       pi_lower = num(pr$pi.lb), pi_upper = num(pr$pi.ub), tau2 = num(res$tau2), se_tau2 = num(res$se.tau2),
       i2 = num(res$I2), h2 = num(res$H2), q = num(res$QE), q_pvalue = num(res$QEp), k = res$k,
       weights = arr(weights(res)), s2w = num(res$s2w))
}
rma_cases <- list()
add_rma <- function(set, method, test = "z", weighted = TRUE, use_weights = FALSE) {
  d <- sets[[set]]$d
  w <- if (use_weights) size[[set]] else NULL
  id <- sprintf("%s_%s_%s%s%s", set, method, test, if (use_weights) "_w" else "", if (!weighted) "_unweighted" else "")
  call <- sprintf("rma(yi, vi, data=dat, method='%s', test='%s'%s%s)", method, test,
                  if (use_weights) ", weights=n" else "", if (!weighted) ", weighted=FALSE" else "")
  args <- list(yi = d$yi, vi = d$vi, method = method, test = test, weighted = weighted)
  if (use_weights) args$weights <- w
  r <- run(do.call(rma, args))
  if (r$failed) return(record_failure(id, call, r))
  res <- r$value
  b <- run(blup(res))
  re <- run(ranef(res))
  rma_cases[[length(rma_cases) + 1]] <<- list(
    id = id, dataset = set, data_call = sets[[set]]$call, call = call, yi = arr(d$yi), vi = arr(d$vi),
    weights = if (use_weights) arr(w) else NULL, method = method, test = test, weighted = weighted,
    level = 0.95, out = out_of(res), fitstats = fitstats_of(res),
    blup = if (b$failed) NULL else lr(b$value), ranef = if (re$failed) NULL else lr(re$value),
    warnings = I(unique(c(r$warnings, b$warnings, re$warnings))))
}
new_methods <- c("HSk", "PMM", "SJIT", "DLIT", "CE", "MP")
old_methods <- c("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
for (set in names(sets)) {
  for (m in c(new_methods, old_methods)) for (test in c("z", "t", "knha", "adhoc")) add_rma(set, m, test)
  for (test in c("z", "t", "knha", "adhoc")) add_rma(set, "GENQ", test, use_weights = TRUE)
  for (m in c("EE", "DL", "REML", "ML", "PM", "SJ")) for (test in c("z", "knha", "adhoc"))
    add_rma(set, m, test, use_weights = TRUE)
  for (m in c("EE", "DL", "REML", "ML", "HE")) for (test in c("z", "t", "knha")) add_rma(set, m, test, weighted = FALSE)
}

## ---------------------------------------------------------------------------------------------------------
## mods: tau^2 estimators with moderators (bcg, absolute latitude and year) and their fit statistics
## ---------------------------------------------------------------------------------------------------------

mods_cases <- list()
X_bcg <- cbind(1, dat.bcg$ablat, dat.bcg$year)
for (m in c("HSk", "GENQ", "PMM", "SJIT", "DLIT", "DL", "HS", "HE", "SJ", "ML", "REML", "EB", "PM", "EE")) {
  for (cols in list(1:2, 1:3)) {
    id <- sprintf("bcg_mods%d_%s", length(cols) - 1, m)
    modstr <- if (length(cols) == 2) "~ ablat" else "~ ablat + year"
    w <- if (m == "GENQ") size$bcg else NULL
    call <- sprintf("rma(yi, vi, mods=%s, data=dat.bcg_rr, method='%s'%s)", modstr, m,
                    if (m == "GENQ") ", weights=n" else "")
    args <- list(yi = bcg_rr$yi, vi = bcg_rr$vi, mods = X_bcg[, cols, drop = FALSE], intercept = FALSE, method = m)
    if (!is.null(w)) args$weights <- w
    r <- run(do.call(rma, args))
    if (r$failed) { record_failure(id, call, r); next }
    res <- r$value
    mods_cases[[length(mods_cases) + 1]] <- list(
      id = id, call = call, yi = arr(bcg_rr$yi), vi = arr(bcg_rr$vi), X = X_bcg[, cols, drop = FALSE],
      weights = if (is.null(w)) NULL else arr(w), method = m,
      out = list(beta = arr(res$beta), se = arr(res$se), tau2 = num(res$tau2), se_tau2 = num(res$se.tau2)),
      fitstats = fitstats_of(res), warnings = r$warnings)
  }
}

## ---------------------------------------------------------------------------------------------------------
## anova: likelihood-ratio tests of nested models
## ---------------------------------------------------------------------------------------------------------

anova_cases <- list()
add_anova <- function(id, call, full, reduced) {
  r <- run(anova(full, reduced))
  if (r$failed) return(record_failure(id, call, r))
  a <- r$value
  anova_cases[[length(anova_cases) + 1]] <<- list(
    id = id, call = call, lrt = num(a$LRT), pvalue = num(a$pval), parms_full = a$parms.f,
    parms_reduced = a$parms.r, method = a$method,
    fit_full = as.list(a$fit.stats.f), fit_reduced = as.list(a$fit.stats.r), r2 = num(a$R2),
    warnings = r$warnings)
}
for (m in c("ML", "REML")) {
  for (set in names(sets)) {
    d <- sets[[set]]$d
    add_anova(sprintf("%s_%s_vs_EE", set, m), sprintf("anova(rma(yi, vi, method='%s'), rma(yi, vi, method='EE'))", m),
              rma(d$yi, d$vi, method = m), rma(d$yi, d$vi, method = "EE"))
  }
}
for (m in c("ML", "REML")) {
  full <- rma(yi, vi, mods = ~ ablat + year, data = bcg_rr, method = m)
  red1 <- rma(yi, vi, mods = ~ ablat, data = bcg_rr, method = m)
  red0 <- rma(yi, vi, data = bcg_rr, method = m)
  add_anova(sprintf("bcg_%s_year", m), sprintf("anova(rma(yi, vi, mods=~ablat+year, method='%s'), rma(yi, vi, mods=~ablat, method='%s'))", m, m), full, red1)
  add_anova(sprintf("bcg_%s_ablat", m), sprintf("anova(rma(yi, vi, mods=~ablat, method='%s'), rma(yi, vi, method='%s'))", m, m), red1, red0)
}
add_anova("bcg_ML_ablat_vs_EE", "anova(rma(yi, vi, mods=~ablat, method='ML'), rma(yi, vi, method='EE'))",
          rma(yi, vi, mods = ~ ablat, data = bcg_rr, method = "ML"), rma(yi, vi, data = bcg_rr, method = "EE"))

## ---------------------------------------------------------------------------------------------------------
## mh: person-time data, and the Breslow-Day and Cochran statistics for the OR
## ---------------------------------------------------------------------------------------------------------

mh_cases <- list()
add_mh <- function(id, call, expr, inputs, measure) {
  r <- run(expr)
  if (r$failed) return(record_failure(id, call, r))
  res <- r$value
  mh_cases[[length(mh_cases) + 1]] <<- list(
    id = id, call = call, measure = measure, inputs = lapply(inputs, arr),
    out = list(estimate = num(res$beta), se = num(res$se), statistic = num(res$zval), pvalue = num(res$pval),
               ci_lower = num(res$ci.lb), ci_upper = num(res$ci.ub), q = num(res$QE), q_pvalue = num(res$QEp),
               i2 = num(res$I2), h2 = num(res$H2), k = res$k, k_yi = res$k.yi,
               mh = num(res$MH), mh_pvalue = num(res$MHp), co = num(res$CO), co_pvalue = num(res$COp),
               bd = num(res$BD), bd_pvalue = num(res$BDp), ta = num(res$TA), ta_pvalue = num(res$TAp),
               ll_ml = num(res$fit.stats["ll", "ML"]), ll_reml = num(res$fit.stats["ll", "REML"])),
    yi = arr(res$yi), vi = arr(res$vi), warnings = r$warnings)
}
pt_sets <- list(hart = list(d = dat.hart1999, expr = "dat.hart1999"),
                nielweise2008 = list(d = dat.nielweise2008, expr = "dat.nielweise2008"),
                rates2 = list(d = rates2, expr = "rates2"))
for (name in names(pt_sets)) for (measure in c("IRR", "IRD")) for (correct in c(TRUE, FALSE)) {
  d <- pt_sets[[name]]$d
  id <- sprintf("%s_MH_%s%s", name, measure, if (correct) "" else "_nocorrect")
  call <- sprintf("rma.mh(measure='%s', x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, data=%s%s)", measure,
                  pt_sets[[name]]$expr, if (correct) "" else ", correct=FALSE")
  add_mh(id, call, rma.mh(measure = measure, x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i, correct = correct),
         list(x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i), measure)
}
or_sets <- list(bcg = list(d = data.frame(ai = dat.bcg$tpos, n1i = dat.bcg$tpos + dat.bcg$tneg, ci = dat.bcg$cpos,
                                          n2i = dat.bcg$cpos + dat.bcg$cneg), expr = "dat.bcg (tpos, tpos+tneg, cpos, cpos+cneg)"),
                li = list(d = dat.li2007, expr = "dat.li2007"),
                nielweise2007 = list(d = dat.nielweise2007, expr = "dat.nielweise2007"))
for (name in names(or_sets)) for (correct in c(TRUE, FALSE)) {
  d <- or_sets[[name]]$d
  id <- sprintf("%s_MH_OR%s", name, if (correct) "" else "_nocorrect")
  call <- sprintf("rma.mh(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=%s%s)", or_sets[[name]]$expr,
                  if (correct) "" else ", correct=FALSE")
  add_mh(id, call, rma.mh(measure = "OR", ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i, correct = correct),
         list(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i), "OR")
}

## ---------------------------------------------------------------------------------------------------------

out <- list(
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  script = "tests/reference/breadth.R",
  escalc = escalc_cases, transf = transf_cases, rma = rma_cases, mods = mods_cases, anova = anova_cases,
  mh = mh_cases, failures = failures
)
write_json(out, "breadth.json", auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = FALSE)
message(sprintf("breadth.json: %d escalc, %d transf, %d rma, %d mods, %d anova, %d mh, %d failures",
                length(escalc_cases), length(transf_cases), length(rma_cases), length(mods_cases),
                length(anova_cases), length(mh_cases), length(failures)))
