## analyses.R -- reference numbers from R metafor for mgmeta.analyses (issue 4).
##
## Writes analyses.json (next to this script).  Top level:
##   r_version, metafor_version, metadat_version, jsonlite_version, generated, script
##   datasets     every data set used below: yi, vi, labels, and where they exist ni, arm counts
##                (ai bi ci di n1i n2i) and moderators (mods: one array per column)
##   leave1out    leave1out(res)
##   influence    influence(res): every column, the dfbetas and is.infl (also for models with moderators)
##   cumul        cumul(res) in the given order and sorted by a variable (order_positions = R's order(), 0-based)
##   regtest      regtest(res, model = "rma" | "lm", predictor = ...)
##   ranktest     ranktest(res)  (exact p-values when there are no ties, as metafor's default exact = TRUE)
##   trimfill     trimfill(res, side, estimator) with the filled data and the refitted model
##   fsn          fsn(yi, vi, type = "Rosenthal" | "Orwin" | "Rosenberg", ...)
##   rma_mods     rma(yi, vi, mods = ~ ..., method, test): coefficients, QM, QE, tau^2, I^2, H^2, R^2
##   subgroup     rma(yi, vi, mods = ~ factor(g)) (common tau^2) and separate fits per subgroup combined by
##                rma(b, sei = se, method = "EE") (separate tau^2, as RevMan and meta's tau.common = FALSE)
##   permutest    permutest(res, exact = TRUE) (deterministic: every (unique) permutation)
##   smallstudy   Peters' and Harbord's regression tests, written out with lm() (package meta is not used)
##   failures     calls that R refused (with the error)
##
## Regenerate with:   cd tests/reference && Rscript analyses.R      (about 4 minutes; the exact permutation tests,
##                    run by metafor one fit at a time, take most of it)
## Needs R with metafor (3.8), metadat and jsonlite.  The Python tests only read analyses.json.
##
## Conventions as in core.R: vectors are JSON arrays (even of length 1); NA/NaN/Inf are null; 15 significant
## digits; levels are proportions in the JSON and percentages in the R calls; every case keeps the warnings
## R raised.  Positions are 0-based in the JSON.

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

bcg_rr <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_or <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
egger <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
hack <- dat.hackshaw1998
bang <- dat.bangertdrowns2004
bang_cc <- bang[complete.cases(bang[, c("length", "wic", "feedback", "info", "pers", "imag", "meta")]), ]
normand <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                  data = dat.normand1999)
homog <- data.frame(yi = c(0.10, 0.20, 0.15, 0.12, 0.18, 0.14),
                    vi = c(0.040, 0.050, 0.030, 0.060, 0.050, 0.045))
## ties in the variances and in the standardized deviates (ranktest with ties: normal approximation)
ties <- data.frame(yi = c(0.30, -0.10, 0.30, 0.52, 0.05, 0.41, 0.30, 0.12),
                   vi = c(0.040, 0.050, 0.040, 0.090, 0.050, 0.120, 0.040, 0.070))
## subgroups with one study in one of them
sub1 <- data.frame(yi = bcg_rr$yi, vi = bcg_rr$vi,
                   g = c("a", "a", "a", "b", "b", "b", "b", "c", "a", "b", "a", "b", "b"))
sub1$g[8] <- "single"

ds <- list(
  bcg_RR = list(yi = bcg_rr$yi, vi = bcg_rr$vi, labels = paste(dat.bcg$author, dat.bcg$year),
                ni = attr(bcg_rr$yi, "ni"),
                ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg,
                mods = list(ablat = dat.bcg$ablat, year = dat.bcg$year, alloc = dat.bcg$alloc),
                call = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"),
  bcg_OR = list(yi = bcg_or$yi, vi = bcg_or$vi, labels = paste(dat.bcg$author, dat.bcg$year),
                ni = attr(bcg_or$yi, "ni"),
                ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg,
                mods = list(ablat = dat.bcg$ablat, year = dat.bcg$year, alloc = dat.bcg$alloc),
                call = "escalc(measure='OR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"),
  egger_OR = list(yi = egger$yi, vi = egger$vi, labels = paste(egger$study, egger$year),
                  ni = attr(egger$yi, "ni"),
                  ai = egger$ai, bi = egger$n1i - egger$ai, ci = egger$ci, di = egger$n2i - egger$ci,
                  mods = list(year = egger$year),
                  call = "escalc(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001)  (magnesium in acute MI)"),
  hackshaw = list(yi = hack$yi, vi = hack$vi, labels = paste(hack$author, hack$year),
                  mods = list(year = hack$year, design = hack$design, country = hack$country),
                  call = "dat.hackshaw1998 (yi, vi as given)"),
  bangert = list(yi = bang$yi, vi = bang$vi, labels = paste(bang$author, bang$year), ni = bang$ni,
                 call = "dat.bangertdrowns2004 (yi, vi as given; all 48 studies)"),
  bangert_cc = list(yi = bang_cc$yi, vi = bang_cc$vi, labels = paste(bang_cc$author, bang_cc$year),
                    ni = bang_cc$ni,
                    mods = list(length = bang_cc$length, wic = bang_cc$wic, feedback = bang_cc$feedback,
                                info = bang_cc$info, pers = bang_cc$pers, imag = bang_cc$imag,
                                meta = bang_cc$meta, grade = bang_cc$grade),
                    call = "dat.bangertdrowns2004 restricted to complete cases of length, wic, feedback, info, pers, imag, meta"),
  normand_SMD = list(yi = normand$yi, vi = normand$vi, labels = as.character(dat.normand1999$source),
                     call = "escalc('SMD', m1i, sd1i, n1i, m2i, sd2i, n2i, data=dat.normand1999)"),
  homog = list(yi = homog$yi, vi = homog$vi, labels = paste("H", 1:6),
               mods = list(x = c(1, 2, 3, 4, 5, 6)),
               call = "hand-made homogeneous set (tau^2 = 0 for every estimator)"),
  bcg2_RR = list(yi = bcg_rr$yi[1:2], vi = bcg_rr$vi[1:2], labels = paste(dat.bcg$author, dat.bcg$year)[1:2],
                 call = "first two studies of dat.bcg, log RR (k = 2)"),
  bcg7_RR = list(yi = bcg_rr$yi[1:7], vi = bcg_rr$vi[1:7], labels = paste(dat.bcg$author, dat.bcg$year)[1:7],
                 mods = list(ablat = dat.bcg$ablat[1:7], year = dat.bcg$year[1:7], alloc = dat.bcg$alloc[1:7]),
                 call = "first seven studies of dat.bcg, log RR (k = 7)"),
  bcg6_RR = list(yi = bcg_rr$yi[1:6], vi = bcg_rr$vi[1:6], labels = paste(dat.bcg$author, dat.bcg$year)[1:6],
                 mods = list(ablat = dat.bcg$ablat[1:6], year = dat.bcg$year[1:6], alloc = dat.bcg$alloc[1:6]),
                 call = "first six studies of dat.bcg, log RR (k = 6)"),
  ties = list(yi = ties$yi, vi = ties$vi, labels = paste("T", 1:8),
              call = "hand-made set with tied variances and tied standardized deviates"),
  sub1 = list(yi = sub1$yi, vi = sub1$vi, labels = paste(dat.bcg$author, dat.bcg$year),
              mods = list(g = sub1$g),
              call = "dat.bcg log RR with hand-made groups a, b, c... where group 'single' has one study")
)
for (n in names(ds)) {
  ds[[n]]$yi <- arr(ds[[n]]$yi)
  ds[[n]]$vi <- arr(ds[[n]]$vi)
  for (f in c("ni", "ai", "bi", "ci", "di")) if (!is.null(ds[[n]][[f]])) ds[[n]][[f]] <- arr(ds[[n]][[f]])
  if (!is.null(ds[[n]]$mods)) {
    ds[[n]]$mods <- lapply(ds[[n]]$mods, function(m) if (is.numeric(m)) arr(m) else I(as.character(m)))
  }
  ds[[n]]$labels <- I(as.character(ds[[n]]$labels))
}

fit <- function(d, method, test, mods = NULL) {
  dd <- ds[[d]]
  if (is.null(mods)) rma(yi = as.numeric(dd$yi), vi = as.numeric(dd$vi), method = method, test = test,
                         slab = dd$labels)
  else rma(yi = as.numeric(dd$yi), vi = as.numeric(dd$vi), mods = mods, method = method, test = test,
           data = as.data.frame(lapply(dd$mods, function(m) if (is.character(m)) factor(m) else as.numeric(m))),
           slab = dd$labels)
}
fit_call <- function(d, method, test, mods = NULL) {
  sprintf("rma(yi, vi%s, method='%s', test='%s')  # data: %s", if (is.null(mods)) "" else
          paste0(", mods=", paste(deparse(mods), collapse = "")), method, test, d)
}

## ---------------------------------------------------------------------------------------------------------
## leave1out, influence, cumul
## ---------------------------------------------------------------------------------------------------------

leave1out_cases <- list(); influence_cases <- list(); cumul_cases <- list()
sens_sets <- c("bcg_RR", "hackshaw", "bangert", "normand_SMD", "homog", "bcg2_RR", "egger_OR")
sens_methods <- c("REML", "DL", "EE", "PM", "ML", "SJ")
for (d in sens_sets) for (method in sens_methods) for (test in c("z", "knha")) {
  if (d %in% c("bangert", "egger_OR") && !(method %in% c("REML", "DL"))) next
  id <- sprintf("%s_%s_%s", d, method, test)
  call <- fit_call(d, method, test)
  r <- run(fit(d, method, test))
  if (r$failed) { record_failure(id, call, r); next }
  res <- r$value
  l <- run(leave1out(res))
  if (l$failed) record_failure(paste0(id, "_leave1out"), "leave1out(res)", l) else {
    o <- l$value
    leave1out_cases[[length(leave1out_cases) + 1]] <- list(
      id = id, dataset = d, method = method, test = test, call = paste0(call, "; leave1out(res)"),
      warnings = I(unique(c(r$warnings, l$warnings))),
      out = list(estimate = arr(o$estimate), se = arr(o$se), statistic = arr(if (test == "z") o$zval else o$tval),
                 pvalue = arr(o$pval), ci_lower = arr(o$ci.lb), ci_upper = arr(o$ci.ub), q = arr(o$Q),
                 q_pvalue = arr(o$Qp), tau2 = arr(if (is.null(o$tau2)) rep(0, length(o$estimate)) else o$tau2),
                 i2 = arr(o$I2), h2 = arr(o$H2)))
  }
  f <- run(influence(res))
  if (f$failed) record_failure(paste0(id, "_influence"), "influence(res)", f) else {
    o <- f$value
    influence_cases[[length(influence_cases) + 1]] <- list(
      id = id, dataset = d, method = method, test = test, mods = NULL, call = paste0(call, "; influence(res)"),
      warnings = I(unique(c(r$warnings, f$warnings))),
      out = list(rstudent = arr(o$inf$rstudent), dffits = arr(o$inf$dffits), cooks = arr(o$inf$cook.d),
                 covratio = arr(o$inf$cov.r), tau2_del = arr(o$inf$tau2.del), q_del = arr(o$inf$QE.del),
                 hat = arr(o$inf$hat), weight = arr(o$inf$weight),
                 dfbetas = lapply(unclass(o$dfbs)[seq_len(res$p)], arr), influential = I(as.logical(o$is.infl))))
  }
  ## cumulative: input order, and sorted by a variable (ties kept in input order)
  orders <- list(input = NULL, by_yi = as.numeric(ds[[d]]$yi))
  if (!is.null(ds[[d]]$mods$year)) orders$by_year <- as.numeric(ds[[d]]$mods$year)
  for (on in names(orders)) {
    ov <- orders[[on]]
    cr <- if (is.null(ov)) run(cumul(res)) else run(cumul(res, order = ov))
    ccall <- if (is.null(ov)) "cumul(res)" else sprintf("cumul(res, order=%s)", on)
    if (cr$failed) { record_failure(paste0(id, "_cumul_", on), ccall, cr); next }
    o <- cr$value
    pos <- if (is.null(ov)) seq_along(ds[[d]]$yi) - 1 else order(ov) - 1
    cumul_cases[[length(cumul_cases) + 1]] <- list(
      id = paste0(id, "_", on), dataset = d, method = method, test = test, call = paste0(call, "; ", ccall),
      order_values = if (is.null(ov)) NULL else arr(ov), order_positions = arr(pos),
      warnings = I(unique(c(r$warnings, cr$warnings))),
      out = list(estimate = arr(o$estimate), se = arr(o$se), statistic = arr(if (test == "z") o$zval else o$tval),
                 pvalue = arr(o$pvals), ci_lower = arr(o$ci.lb), ci_upper = arr(o$ci.ub), q = arr(o$Q),
                 q_pvalue = arr(o$Qp), tau2 = arr(if (is.null(o$tau2)) rep(0, length(o$estimate)) else o$tau2),
                 i2 = arr(o$I2), h2 = arr(o$H2)))
  }
}

## influence() on models with moderators
for (spec in list(list("bcg_RR", ~ ablat), list("bcg_RR", ~ ablat + year), list("hackshaw", ~ year + design),
                  list("bangert_cc", ~ length + wic + imag))) {
  d <- spec[[1]]; mods <- spec[[2]]
  for (method in c("REML", "DL", "EE")) for (test in c("z", "knha")) {
    id <- sprintf("%s_%s_%s_mods_%s", d, method, test, gsub("[^a-z]+", "", paste(deparse(mods), collapse = "")))
    call <- fit_call(d, method, test, mods)
    r <- run(fit(d, method, test, mods))
    if (r$failed) { record_failure(id, call, r); next }
    res <- r$value
    f <- run(influence(res))
    if (f$failed) { record_failure(paste0(id, "_influence"), "influence(res)", f); next }
    o <- f$value
    influence_cases[[length(influence_cases) + 1]] <- list(
      id = id, dataset = d, method = method, test = test, mods = I(all.vars(mods)),
      call = paste0(call, "; influence(res)"), warnings = I(unique(c(r$warnings, f$warnings))),
      out = list(rstudent = arr(o$inf$rstudent), dffits = arr(o$inf$dffits), cooks = arr(o$inf$cook.d),
                 covratio = arr(o$inf$cov.r), tau2_del = arr(o$inf$tau2.del), q_del = arr(o$inf$QE.del),
                 hat = arr(o$inf$hat), weight = arr(o$inf$weight),
                 dfbetas = lapply(unclass(o$dfbs)[seq_len(res$p)], arr), influential = I(as.logical(o$is.infl))))
  }
}

## ---------------------------------------------------------------------------------------------------------
## regtest, ranktest, trimfill, fsn
## ---------------------------------------------------------------------------------------------------------

regtest_cases <- list(); ranktest_cases <- list(); trimfill_cases <- list(); fsn_cases <- list()
bias_sets <- c("bcg_RR", "bcg_OR", "egger_OR", "hackshaw", "bangert", "normand_SMD", "homog", "ties")
for (d in bias_sets) for (method in c("REML", "DL", "EE", "PM")) for (test in c("z", "knha")) {
  id <- sprintf("%s_%s_%s", d, method, test)
  call <- fit_call(d, method, test)
  r <- run(fit(d, method, test))
  if (r$failed) { record_failure(id, call, r); next }
  res <- r$value
  preds <- c("sei", "vi")
  if (!is.null(ds[[d]]$ni)) preds <- c(preds, "ni", "ninv", "sqrtni", "sqrtninv")
  for (model in c("rma", "lm")) for (pred in preds) {
    if (model == "lm" && (method != "REML" || test != "z")) next   # lm does not depend on the model's settings
    rcall <- sprintf("regtest(res, model='%s', predictor='%s'%s)", model, pred,
                     if (is.null(ds[[d]]$ni) || !(pred %in% c("ni", "ninv", "sqrtni", "sqrtninv"))) "" else ", ni=ni")
    rt <- run(if (pred %in% c("ni", "ninv", "sqrtni", "sqrtninv"))
                regtest(res, model = model, predictor = pred, ni = as.numeric(ds[[d]]$ni))
              else regtest(res, model = model, predictor = pred))
    if (rt$failed) { record_failure(paste(id, model, pred, sep = "_"), rcall, rt); next }
    o <- rt$value
    regtest_cases[[length(regtest_cases) + 1]] <- list(
      id = paste(id, model, pred, sep = "_"), dataset = d, method = method, test = test, model = model,
      predictor = pred, call = paste0(call, "; ", rcall), warnings = I(unique(c(r$warnings, rt$warnings))),
      out = list(statistic = num(o$zval), pvalue = num(o$pval), df = num(o$dfs),
                 limit_estimate = num(o$est), ci_lower = num(o$ci.lb), ci_upper = num(o$ci.ub),
                 coef = arr(coef(o$fit)), se = arr(if (model == "rma") o$fit$se else coef(summary(o$fit))[, 2]),
                 tau2 = if (model == "rma") num(o$fit$tau2) else NA))
  }
  if (method == "REML" && test == "z") {
    rk <- run(ranktest(res))
    if (rk$failed) record_failure(paste0(d, "_ranktest"), "ranktest(res)", rk) else
      ranktest_cases[[length(ranktest_cases) + 1]] <- list(
        id = d, dataset = d, call = paste0(call, "; ranktest(res)"), warnings = I(unique(rk$warnings)),
        out = list(tau = num(rk$value$tau), pvalue = num(rk$value$pval)))
    for (type in c("Rosenthal", "Orwin", "Rosenberg")) for (weighted in c(FALSE, TRUE)) for (target in list(NULL, 0.05)) {
      if (type != "Orwin" && (weighted || !is.null(target))) next
      args <- list(yi = as.numeric(ds[[d]]$yi), vi = as.numeric(ds[[d]]$vi), type = type)
      if (type == "Orwin") { args$weighted <- weighted; if (!is.null(target)) args$target <- target }
      fcall <- sprintf("fsn(yi, vi, type='%s'%s%s)", type, if (type == "Orwin") sprintf(", weighted=%s", weighted) else "",
                       if (is.null(target)) "" else sprintf(", target=%s", target))
      fs <- run(do.call(fsn, args))
      if (fs$failed) { record_failure(paste0(d, "_fsn_", type), fcall, fs); next }
      o <- fs$value
      fsn_cases[[length(fsn_cases) + 1]] <- list(
        id = sprintf("%s_%s%s%s", d, type, if (weighted) "_weighted" else "", if (is.null(target)) "" else "_target"),
        dataset = d, type = type, weighted = weighted, target_arg = if (is.null(target)) NULL else target,
        alpha = 0.05, call = fcall, warnings = I(fs$warnings),
        out = list(fsn = num(o$fsnum), pvalue = num(o$pval), mean_effect = num(o$meanes), target = num(o$target)))
    }
  }
  if (test == "z" || method == "REML") {
    for (estimator in c("L0", "R0", "Q0")) for (side in list(NULL, "left", "right")) {
      tcall <- sprintf("trimfill(res, estimator='%s'%s)", estimator, if (is.null(side)) "" else sprintf(", side='%s'", side))
      tf <- run(if (is.null(side)) trimfill(res, estimator = estimator) else trimfill(res, estimator = estimator, side = side))
      tid <- sprintf("%s_%s_%s%s", id, estimator, if (is.null(side)) "auto" else side, "")
      if (tf$failed) { record_failure(tid, tcall, tf); next }
      o <- tf$value
      trimfill_cases[[length(trimfill_cases) + 1]] <- list(
        id = tid, dataset = d, method = method, test = test, estimator = estimator, side_arg = side,
        call = paste0(call, "; ", tcall), warnings = I(unique(c(r$warnings, tf$warnings))),
        out = list(k0 = num(o$k0), se_k0 = num(o$se.k0), side = o$side, p_k0 = num(o$p.k0),
                   yi = arr(o$yi), vi = arr(o$vi), fill = I(as.logical(o$fill)),
                   estimate = num(o$beta), se = num(o$se), statistic = num(o$zval), pvalue = num(o$pval),
                   ci_lower = num(o$ci.lb), ci_upper = num(o$ci.ub), tau2 = num(o$tau2), q = num(o$QE),
                   i2 = num(o$I2), k = num(o$k), test = o$test))
    }
  }
}

## ---------------------------------------------------------------------------------------------------------
## meta-regression, subgroups, permutation tests
## ---------------------------------------------------------------------------------------------------------

mods_cases <- list()
mods_specs <- list(
  list("bcg_RR", ~ ablat), list("bcg_RR", ~ ablat + year), list("bcg_RR", ~ ablat + year + alloc),
  list("bcg_RR", ~ alloc), list("bcg_OR", ~ ablat + alloc),
  list("hackshaw", ~ year), list("hackshaw", ~ design + year), list("hackshaw", ~ country),
  list("bangert_cc", ~ length + wic + feedback), list("bangert_cc", ~ info + pers + imag + meta),
  list("bangert_cc", ~ grade), list("homog", ~ x), list("egger_OR", ~ year), list("sub1", ~ g))
for (spec in mods_specs) {
  d <- spec[[1]]; mods <- spec[[2]]
  for (method in c("REML", "DL", "EE", "ML", "PM", "HE", "SJ", "EB", "HS")) for (test in c("z", "knha")) {
    vars <- all.vars(mods)
    id <- sprintf("%s_%s_%s_%s", d, paste(vars, collapse = "+"), method, test)
    call <- fit_call(d, method, test, mods)
    r <- run(fit(d, method, test, mods))
    if (r$failed) { record_failure(id, call, r); next }
    o <- r$value
    mods_cases[[length(mods_cases) + 1]] <- list(
      id = id, dataset = d, mods = I(vars), method = method, test = test, call = call, warnings = I(r$warnings),
      out = list(names = I(rownames(o$beta)), coef = arr(o$beta), se = arr(o$se), statistic = arr(o$zval),
                 pvalue = arr(o$pval), ci_lower = arr(o$ci.lb), ci_upper = arr(o$ci.ub),
                 qm = num(o$QM), qm_pvalue = num(o$QMp), qm_df = arr(o$QMdf), qe = num(o$QE), qe_pvalue = num(o$QEp),
                 tau2 = num(o$tau2), se_tau2 = num(o$se.tau2), i2 = num(o$I2), h2 = num(o$H2),
                 r2 = if (is.null(o$R2)) NA else num(o$R2), k = num(o$k), p = num(o$p), df = num(o$ddf)))
  }
}

subgroup_cases <- list()
subgroup_specs <- list(list("bcg_RR", "alloc"), list("hackshaw", "design"), list("hackshaw", "country"),
                       list("bangert_cc", "grade"), list("sub1", "g"))
for (spec in subgroup_specs) for (method in c("REML", "DL", "EE", "PM")) for (test in c("z", "knha")) {
  d <- spec[[1]]; g <- spec[[2]]
  dd <- ds[[d]]
  grp <- as.character(dd$mods[[g]])
  id <- sprintf("%s_%s_%s_%s", d, g, method, test)
  call <- sprintf("rma(yi, vi, mods=~factor(%s), method='%s', test='%s'); per level: rma(yi, vi, subset=%s==level, method='%s', test='%s'); rma(b, sei=se, method='EE')", g, method, test, g, method, test)
  r <- run(rma(yi = as.numeric(dd$yi), vi = as.numeric(dd$vi), mods = ~ factor(grp), method = method, test = test))
  if (r$failed) { record_failure(id, call, r); next }
  common <- r$value
  levs <- sort(unique(grp))
  fits <- lapply(levs, function(l) run(rma(yi = as.numeric(dd$yi)[grp == l], vi = as.numeric(dd$vi)[grp == l],
                                           method = method, test = test)))
  if (any(vapply(fits, function(f) f$failed, TRUE))) { record_failure(id, call, fits[[which(vapply(fits, function(f) f$failed, TRUE))[1]]]); next }
  fits <- lapply(fits, function(f) f$value)
  b <- vapply(fits, function(f) c(f$beta), 0); se <- vapply(fits, function(f) f$se, 0)
  between <- rma(yi = b, sei = se, method = "EE")
  subgroup_cases[[length(subgroup_cases) + 1]] <- list(
    id = id, dataset = d, group = g, method = method, test = test, call = call, warnings = I(r$warnings),
    out = list(levels = I(levs), k = arr(vapply(fits, function(f) f$k, 0)), estimate = arr(b), se = arr(se),
               pvalue = arr(vapply(fits, function(f) f$pval, 0)),
               ci_lower = arr(vapply(fits, function(f) f$ci.lb, 0)), ci_upper = arr(vapply(fits, function(f) f$ci.ub, 0)),
               tau2 = arr(vapply(fits, function(f) f$tau2, 0)), i2 = arr(vapply(fits, function(f) f$I2, 0)),
               q = arr(vapply(fits, function(f) f$QE, 0)),
               test_used = I(vapply(fits, function(f) f$test, "")),
               q_between = num(between$QE), df = num(length(levs) - 1), pvalue_between = num(between$QEp),
               q_between_common = num(common$QM), pvalue_common = num(common$QMp), df_common = arr(common$QMdf),
               tau2_common = num(common$tau2), qe_common = num(common$QE), qe_pvalue_common = num(common$QEp)))
}

permutest_cases <- list()
perm_specs <- list(list("bcg6_RR", ~ ablat), list("bcg6_RR", ~ ablat + year), list("bcg7_RR", ~ ablat),
                   list("bcg7_RR", ~ alloc), list("bcg7_RR", ~ ablat + alloc), list("homog", ~ x),
                   list("bcg7_RR", NULL), list("bcg6_RR", NULL))
for (spec in perm_specs) for (method in c("REML", "DL", "EE")) for (test in c("z", "knha")) {
  d <- spec[[1]]; mods <- spec[[2]]
  vars <- if (is.null(mods)) character(0) else all.vars(mods)
  id <- sprintf("%s_%s_%s_%s", d, if (length(vars)) paste(vars, collapse = "+") else "intercept", method, test)
  call <- fit_call(d, method, test, mods)
  r <- run(fit(d, method, test, mods))
  if (r$failed) { record_failure(id, call, r); next }
  res <- r$value
  pt <- run(permutest(res, exact = TRUE, progbar = FALSE))
  if (pt$failed) { record_failure(paste0(id, "_permutest"), "permutest(res, exact=TRUE)", pt); next }
  o <- pt$value
  permutest_cases[[length(permutest_cases) + 1]] <- list(
    id = id, dataset = d, mods = I(vars), method = method, test = test,
    call = paste0(call, "; permutest(res, exact=TRUE)"), warnings = I(unique(c(r$warnings, pt$warnings))),
    out = list(pvalue = arr(o$pval), qm_pvalue = num(o$QMp), exact_iter = num(o$exact.iter),
               statistic = arr(res$zval), qm = num(res$QM)))
}

## ---------------------------------------------------------------------------------------------------------
## Peters' and Harbord's tests, written out (log odds ratios; weighted least squares with lm())
## ---------------------------------------------------------------------------------------------------------

smallstudy_cases <- list()
for (d in c("bcg_OR", "egger_OR")) {
  dd <- ds[[d]]
  a <- as.numeric(dd$ai); b <- as.numeric(dd$bi); c <- as.numeric(dd$ci); dn <- as.numeric(dd$di)
  n1 <- a + b; n2 <- c + dn; N <- n1 + n2
  yi <- as.numeric(dd$yi)
  ## Peters et al. (2006): yi ~ 1/N, weights 1 / (1/(a+c) + 1/(b+d))
  wp <- 1 / (1 / (a + c) + 1 / (b + dn))
  fp <- summary(lm(yi ~ I(1 / N), weights = wp))
  smallstudy_cases[[length(smallstudy_cases) + 1]] <- list(
    id = paste0(d, "_peters"), dataset = d, test = "peters",
    call = "summary(lm(yi ~ I(1/(n1i+n2i)), weights = 1/(1/(ai+ci) + 1/(bi+di))))",
    out = list(statistic = num(fp$coefficients[2, 3]), pvalue = num(fp$coefficients[2, 4]), df = num(fp$df[2]),
               coef = arr(fp$coefficients[, 1]), se = arr(fp$coefficients[, 2])))
  ## Harbord et al. (2006): score Z and its variance V; Z/V ~ 1/sqrt(V), weights V
  Z <- a - (a + c) * n1 / N
  V <- n1 * n2 * (a + c) * (b + dn) / (N^2 * (N - 1))
  fh <- summary(lm(I(Z / V) ~ I(1 / sqrt(V)), weights = V))
  smallstudy_cases[[length(smallstudy_cases) + 1]] <- list(
    id = paste0(d, "_harbord"), dataset = d, test = "harbord",
    call = "Z <- ai - (ai+ci)*n1i/N; V <- n1i*n2i*(ai+ci)*(bi+di)/(N^2*(N-1)); summary(lm(I(Z/V) ~ I(1/sqrt(V)), weights = V))",
    out = list(statistic = num(fh$coefficients[2, 3]), pvalue = num(fh$coefficients[2, 4]), df = num(fh$df[2]),
               coef = arr(fh$coefficients[, 1]), se = arr(fh$coefficients[, 2])))
}

## ---------------------------------------------------------------------------------------------------------

out <- list(
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  script = "tests/reference/analyses.R",
  datasets = ds,
  leave1out = leave1out_cases, influence = influence_cases, cumul = cumul_cases,
  regtest = regtest_cases, ranktest = ranktest_cases, trimfill = trimfill_cases, fsn = fsn_cases,
  rma_mods = mods_cases, subgroup = subgroup_cases, permutest = permutest_cases,
  smallstudy = smallstudy_cases, failures = failures
)
write_json(out, "analyses.json", auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE)
message(sprintf("analyses.json: %d leave1out, %d influence, %d cumul, %d regtest, %d ranktest, %d trimfill, %d fsn, %d rma_mods, %d subgroup, %d permutest, %d smallstudy, %d failures",
                length(leave1out_cases), length(influence_cases), length(cumul_cases), length(regtest_cases),
                length(ranktest_cases), length(trimfill_cases), length(fsn_cases), length(mods_cases),
                length(subgroup_cases), length(permutest_cases), length(smallstudy_cases), length(failures)))
