## multivariate.R -- reference numbers from R metafor for mgmeta.multivariate, mgmeta.vcalc and
## mgmeta.selection (issue 15, items 5 and 6).
##
## Writes multivariate.json (next to this script).  Top level:
##   r_version, metafor_version, metadat_version, jsonlite_version, generated, script
##   datasets   every data set used below, column by column (V as a list of rows where it is a matrix)
##   mv         rma.mv(...) fits: coefficients, variance components, QE, QM, fit statistics, predict(),
##              confint() (profile likelihood, with a tight uniroot tolerance) and the printed summary
##   anova      anova(full, reduced) for pairs of mv fits (likelihood-ratio test)
##   vcov       covariance matrices of effects that share a control arm (Gleser & Olkin 2009), written out
##              in base R from the formulas, with escalc() for the diagonal
##   selmodel   selmodel(rma(..., method = "ML"), type = "stepfun" | "beta", ...)
##   failures   calls that R refused (with the error)
##
## Regenerate with:   cd tests/reference && Rscript multivariate.R      (1 to 3 minutes)
## Needs R with metafor (3.8), metadat and jsonlite.  The Python tests only read multivariate.json.
##
## Optimiser settings.  rma.mv's default nlminb() stops about 1e-6 short of the optimum (relative, in the
## variance components of the UN/HCS models), and tighter nlminb settings often end in "false convergence".
## Every fit is therefore done in two stages (polish_fit below): metafor's default fit, then optim's
## Nelder-Mead with reltol = 1e-15 started at its estimates (checked against mgmeta's analytic-gradient
## optimum: they agree to about 1e-8).  `call` is the second-stage call with the starting values written
## out.  confint() is run with control = list(tol = 1e-12) (uniroot's default tolerance, 1.2e-4, is far
## too loose to compare bounds) and with metafor's default optimiser settings for the profile refits.
## selmodel() uses optim(method = "BFGS") with reltol = 1e-8 by default; here it uses nlminb with rel.tol =
## 1e-12 (1e-11, then nlminb's defaults, where it reports false convergence) and, for the beta model,
## integrate() with rel.tol = 1e-12 (control$intCtrl).  Each case's `call` is the exact R call.
##
## Conventions as in core.R: vectors are JSON arrays (even of length 1); NA/NaN/Inf are null; 15 significant
## digits; levels are proportions in the JSON.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

arr <- function(x) I(unname(as.numeric(x)))
num <- function(x) if (is.null(x) || length(x) == 0) NA else unname(as.numeric(x))[1]
rows <- function(m) lapply(seq_len(nrow(m)), function(i) arr(m[i, ]))

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

konst <- dat.konstantopoulos2011
berkey <- dat.berkey1998
V_berkey <- bldiag(lapply(split(berkey[, c("v1i", "v2i")], berkey$trial), as.matrix))
assink <- dat.assink2016
hack <- dat.hackshaw1998
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)

## Two stages: metafor's default fit, then Nelder-Mead (reltol = 1e-15) started at its estimates, whose
## values are written into the recorded call, so that `call` reproduces the reference exactly
polish_fit <- function(template) {
  call0 <- sub(", CTRL", "", template, fixed = TRUE)
  r0 <- run(eval(parse(text = call0), envir = globalenv()))
  if (r0$failed) { r0$call <- call0; return(r0) }
  res0 <- r0$value
  num17 <- function(x) paste(sprintf("%.17g", x), collapse = ", ")
  inits <- c(if (res0$withS) sprintf("sigma2.init = c(%s)", num17(pmax(res0$sigma2, 1e-8))),
             if (res0$withG) sprintf("tau2.init = c(%s)", num17(pmax(res0$tau2, 1e-8))),
             if (res0$withG) sprintf("rho.init = c(%s)", num17(res0$rho)))
  ctl <- sprintf("control = list(%s, optimizer = 'optim', optmethod = 'Nelder-Mead', reltol = 1e-15, maxit = 100000)",
                 paste(inits, collapse = ", "))
  call1 <- sub("CTRL", ctl, template, fixed = TRUE)
  r1 <- run(eval(parse(text = call1), envir = globalenv()))
  if (r1$failed) { r0$call <- call0; r0$warnings <- I(c(r0$warnings, "second stage failed")); return(r0) }
  r1$call <- call1
  r1
}
first_fit <- function(template, controls, placeholder) {
  for (ctl in controls) {
    call <- sub(placeholder, ctl, template, fixed = TRUE)
    r <- run(eval(parse(text = call), envir = globalenv()))
    if (!r$failed) break
  }
  r$call <- call
  r
}

## simulated: 12 studies, up to 3 outcomes each (a few missing), correlated random effects (UN)
set.seed(15)
sim3 <- expand.grid(outcome = c("A", "B", "C"), study = 1:12, stringsAsFactors = FALSE)
sim3 <- sim3[-c(3, 8, 13, 14, 29), ]
G3 <- matrix(c(0.10, 0.05, 0.02, 0.05, 0.08, 0.04, 0.02, 0.04, 0.12), 3, 3)
u3 <- t(chol(G3)) %*% matrix(rnorm(36), 3, 12)
sim3$vi <- round(runif(nrow(sim3), 0.01, 0.08), 4)
sim3$yi <- round(c(0.2, 0.4, 0.1)[match(sim3$outcome, c("A", "B", "C"))] +
                 u3[cbind(match(sim3$outcome, c("A", "B", "C")), sim3$study)] + rnorm(nrow(sim3), 0, sqrt(sim3$vi)), 4)
rownames(sim3) <- NULL

ds <- list(
  konstantopoulos2011 = list(
    call = "dat.konstantopoulos2011", yi = arr(konst$yi), vi = arr(konst$vi), district = arr(konst$district),
    school = arr(konst$school), study = arr(konst$study), year = arr(konst$year)),
  berkey1998 = list(
    call = "dat.berkey1998; V <- bldiag(lapply(split(dat[, c('v1i', 'v2i')], dat$trial), as.matrix))",
    yi = arr(berkey$yi), vi = arr(berkey$vi), v1i = arr(berkey$v1i), v2i = arr(berkey$v2i),
    trial = arr(berkey$trial), outcome = I(berkey$outcome), year = arr(berkey$year), ni = arr(berkey$ni),
    V = rows(V_berkey)),
  assink2016 = list(
    call = "dat.assink2016", yi = arr(assink$yi), vi = arr(assink$vi), study = arr(assink$study),
    esid = arr(assink$esid), id = arr(assink$id), pubstatus = arr(assink$pubstatus), year = arr(assink$year),
    deltype = I(assink$deltype)),
  sim3 = list(call = "simulated in multivariate.R (set.seed(15)): 12 studies x outcomes A, B, C, 5 missing",
              yi = arr(sim3$yi), vi = arr(sim3$vi), study = arr(sim3$study), outcome = I(sim3$outcome)),
  hackshaw1998 = list(call = "dat.hackshaw1998 (yi, vi as given)", yi = arr(hack$yi), vi = arr(hack$vi)),
  bcg_RR = list(call = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)",
                yi = arr(bcg$yi), vi = arr(bcg$vi))
)

## ---------------------------------------------------------------------------------------------------------
## rma.mv fits
## ---------------------------------------------------------------------------------------------------------

mv_specs <- list(
  list(id = "konst_3l_REML", data = "konstantopoulos2011",
       call = "rma.mv(yi, vi, random = ~ 1 | district/school, data = konst, CTRL)", confint = TRUE, predict = TRUE),
  list(id = "konst_3l_ML", data = "konstantopoulos2011",
       call = "rma.mv(yi, vi, random = ~ 1 | district/school, data = konst, method = 'ML', CTRL)", confint = TRUE,
       predict = TRUE),
  list(id = "konst_3l_REML_t", data = "konstantopoulos2011",
       call = "rma.mv(yi, vi, random = ~ 1 | district/school, data = konst, test = 't', CTRL)", predict = TRUE),
  list(id = "konst_list_REML", data = "konstantopoulos2011",
       call = "rma.mv(yi, vi, random = list(~ 1 | district, ~ 1 | study), data = konst, CTRL)"),
  list(id = "konst_2l_REML", data = "konstantopoulos2011",
       call = "rma.mv(yi, vi, random = ~ 1 | study, data = konst, CTRL)", confint = TRUE),
  list(id = "konst_3l_fix0_REML", data = "konstantopoulos2011",
       call = "rma.mv(yi, vi, random = ~ 1 | district/school, sigma2 = c(0, NA), data = konst, CTRL)"),
  list(id = "konst_3l_year_REML", data = "konstantopoulos2011",
       call = "rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = konst, CTRL)",
       confint = TRUE, predict_new = list(newmods = c(-10, 0, 5))),
  list(id = "konst_3l_year_ML", data = "konstantopoulos2011",
       call = "rma.mv(yi, vi, mods = ~ I(year - 1990), random = ~ 1 | district/school, data = konst, method = 'ML', CTRL)"),
  list(id = "konst_CS_REML", data = "konstantopoulos2011",
       call = "rma.mv(yi, vi, random = ~ school | district, struct = 'CS', data = konst, CTRL)", confint = TRUE),
  list(id = "berkey_UN_REML", data = "berkey1998",
       call = "rma.mv(yi, V_berkey, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'UN', data = berkey, CTRL)",
       confint = TRUE),
  list(id = "berkey_UN_ML", data = "berkey1998",
       call = "rma.mv(yi, V_berkey, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'UN', data = berkey, method = 'ML', CTRL)"),
  list(id = "berkey_UN_year_REML", data = "berkey1998",
       call = "rma.mv(yi, V_berkey, mods = ~ outcome + outcome:I(year - 1983) - 1, random = ~ outcome | trial, struct = 'UN', data = berkey, CTRL)"),
  list(id = "berkey_CS_REML", data = "berkey1998",
       call = "rma.mv(yi, V_berkey, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'CS', data = berkey, CTRL)",
       confint = TRUE),
  list(id = "berkey_HCS_REML", data = "berkey1998",
       call = "rma.mv(yi, V_berkey, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'HCS', data = berkey, CTRL)",
       confint = TRUE),
  list(id = "berkey_HCS_ML", data = "berkey1998",
       call = "rma.mv(yi, V_berkey, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'HCS', data = berkey, method = 'ML', CTRL)"),
  list(id = "sim3_UN_REML", data = "sim3",
       call = "rma.mv(yi, vi, mods = ~ outcome - 1, random = ~ outcome | study, struct = 'UN', data = sim3, CTRL)",
       confint = TRUE),
  list(id = "sim3_UN_ML", data = "sim3",
       call = "rma.mv(yi, vi, mods = ~ outcome - 1, random = ~ outcome | study, struct = 'UN', data = sim3, method = 'ML', CTRL)"),
  list(id = "sim3_HCS_REML", data = "sim3",
       call = "rma.mv(yi, vi, mods = ~ outcome - 1, random = ~ outcome | study, struct = 'HCS', data = sim3, CTRL)"),
  list(id = "sim3_CS_nested_REML", data = "sim3",
       call = "rma.mv(yi, vi, mods = ~ outcome, random = list(~ 1 | study, ~ outcome | study), struct = 'CS', data = sim3, CTRL)"),
  list(id = "assink_3l_REML", data = "assink2016",
       call = "rma.mv(yi, vi, random = ~ 1 | study/esid, data = assink, CTRL)", confint = TRUE, predict = TRUE),
  list(id = "assink_deltype_REML", data = "assink2016",
       call = "rma.mv(yi, vi, mods = ~ deltype, random = ~ 1 | study/esid, data = assink, CTRL)", confint = TRUE),
  list(id = "assink_deltype_year_ML", data = "assink2016",
       call = "rma.mv(yi, vi, mods = ~ deltype + year, random = ~ 1 | study/esid, data = assink, method = 'ML', CTRL)"),
  list(id = "assink_3l_ML", data = "assink2016",
       call = "rma.mv(yi, vi, random = ~ 1 | study/esid, data = assink, method = 'ML', CTRL)"),
  list(id = "assink_deltype_ML", data = "assink2016",
       call = "rma.mv(yi, vi, mods = ~ deltype, random = ~ 1 | study/esid, data = assink, method = 'ML', CTRL)")
)

vc_block <- function(ci, comp) {
  if (is.null(ci)) return(NULL)
  lapply(seq_len(nrow(ci)), function(i) arr(ci[i, c("estimate", "ci.lb", "ci.ub")]))
}

fits <- list()
mv_cases <- list()
for (s in mv_specs) {
  r <- polish_fit(s$call)
  call <- r$call
  if (r$failed) { record_failure(s$id, call, r); next }
  res <- r$value
  fits[[s$id]] <- res
  case <- list(
    id = s$id, dataset = s$data, call = call, warnings = r$warnings,
    method = res$method, test = res$test, struct = res$struct[1],
    out = list(
      names = I(rownames(res$beta)), beta = arr(res$beta), se = arr(res$se), zval = arr(res$zval),
      pval = arr(res$pval), ci_lb = arr(res$ci.lb), ci_ub = arr(res$ci.ub), vb = rows(res$vb),
      sigma2 = if (res$withS) arr(res$sigma2) else NULL,
      s_nlevels = if (res$withS) arr(res$s.nlevels) else NULL,
      s_names = if (res$withS) I(res$s.names) else NULL,
      tau2 = if (res$withG) arr(res$tau2) else NULL,
      rho = if (res$withG) arr(res$rho) else NULL,
      g_levels = if (res$withG) I(res$g.levels.f[[1]]) else NULL,
      g_levels_k = if (res$withG) arr(res$g.levels.k) else NULL,
      g_nlevels = if (res$withG) arr(res$g.nlevels) else NULL,
      QE = num(res$QE), QEp = num(res$QEp), QE_df = num(res$k - res$p),
      QM = num(res$QM), QMp = num(res$QMp), QM_df = num(res$QMdf[1]), QM_df2 = num(res$QMdf[2]),
      btt = arr(res$btt),
      ll = num(res$fit.stats[1, tolower(res$method) == c("ml", "reml")][1]),
      fit_stats_ML = arr(res$fit.stats$ML), fit_stats_REML = arr(res$fit.stats$REML),
      logLik = num(logLik(res)), deviance = num(deviance(res)), AIC = num(AIC(res)), BIC = num(BIC(res)),
      AICc = num(fitstats(res)[5]), parms = num(res$parms), k = num(res$k), p = num(res$p),
      ddf = if (res$test == "t") arr(res$ddf) else NULL
    ),
    print = paste(capture.output(summary(res)), collapse = "\n")
  )
  if (isTRUE(s$predict)) {
    pr <- predict(res)
    case$predict <- list(call = "predict(res)", pred = num(pr$pred), se = num(pr$se), ci_lb = num(pr$ci.lb),
                         ci_ub = num(pr$ci.ub), pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub))
  }
  if (!is.null(s$predict_new)) {
    pr <- predict(res, newmods = s$predict_new$newmods)
    case$predict <- list(call = sprintf("predict(res, newmods = c(%s))", paste(s$predict_new$newmods, collapse = ", ")),
                         newmods = arr(s$predict_new$newmods),
                         pred = arr(pr$pred), se = arr(pr$se), ci_lb = arr(pr$ci.lb),
                         ci_ub = arr(pr$ci.ub), pi_lb = arr(pr$pi.lb), pi_ub = arr(pr$pi.ub))
  }
  if (isTRUE(s$confint)) {
    ## the profile refits inherit the fit's optimiser settings; with rel.tol = 1e-12 nlminb reports false
    ## convergence for many of them, so they run with metafor's defaults
    res_ci <- res
    res_ci$control <- list()
    rc <- run(confint(res_ci, control = list(tol = 1e-12)))
    if (rc$failed) {
      record_failure(paste0(s$id, "_confint"), "res$control <- list(); confint(res, control = list(tol = 1e-12))", rc)
    } else {
      ci <- rc$value
      blocks <- if (inherits(ci, "list.confint.rma")) ci[names(ci) != "digits"] else list(ci)
      comps <- lapply(blocks, function(b) {
        rn <- rownames(b$random)
        ## lb_sign / ub_sign "<" / ">": the bound is the last value metafor's profile refits could fit, and the
        ## interval reaches beyond it (metafor prints "<-0.62"); "" for a bound where the profile crosses
        list(names = I(rn), estimate = arr(b$random[, 1]), lower = arr(b$random[, 2]),
             upper = arr(b$random[, 3]), lb_sign = b$lb.sign, ub_sign = b$ub.sign)
      })
      case$confint <- list(call = "res$control <- list(); confint(res, control = list(tol = 1e-12))", warnings = rc$warnings,
                           components = comps)
    }
  }
  mv_cases[[length(mv_cases) + 1]] <- case
}

## ---------------------------------------------------------------------------------------------------------
## anova (likelihood-ratio tests)
## ---------------------------------------------------------------------------------------------------------

anova_specs <- list(
  c("konst_3l_REML", "konst_2l_REML"),
  c("konst_3l_REML", "konst_3l_fix0_REML"),
  c("konst_3l_year_ML", "konst_3l_ML"),
  c("assink_deltype_ML", "assink_3l_ML"),
  c("berkey_UN_REML", "berkey_CS_REML"),
  c("berkey_HCS_REML", "berkey_CS_REML"),
  c("sim3_UN_REML", "sim3_HCS_REML")
)
anova_cases <- list()
for (a in anova_specs) {
  call <- sprintf("anova(%s, %s)", a[1], a[2])
  r <- run(anova(fits[[a[1]]], fits[[a[2]]]))
  if (r$failed) { record_failure(call, call, r); next }
  an <- r$value
  anova_cases[[length(anova_cases) + 1]] <- list(
    id = paste(a, collapse = "_vs_"), full = a[1], reduced = a[2], call = call, warnings = r$warnings,
    out = list(df_full = num(an$parms.f), df_reduced = num(an$parms.r), LRT = num(an$LRT), pval = num(an$pval),
               ll_full = num(an$fit.stats.f["ll"]), ll_reduced = num(an$fit.stats.r["ll"]),
               AIC_full = num(an$fit.stats.f["AIC"]), AIC_reduced = num(an$fit.stats.r["AIC"]),
               BIC_full = num(an$fit.stats.f["BIC"]), BIC_reduced = num(an$fit.stats.r["BIC"]),
               AICc_full = num(an$fit.stats.f["AICc"]), AICc_reduced = num(an$fit.stats.r["AICc"]),
               QE_full = num(an$QE.f), QE_reduced = num(an$QE.r)),
    print = paste(capture.output(print(an)), collapse = "\n"))
}

## ---------------------------------------------------------------------------------------------------------
## Covariance of effects sharing a control arm (Gleser & Olkin 2009), in base R from the formulas
## ---------------------------------------------------------------------------------------------------------
## A hand-made set of multi-arm trials: trial A has three treatment arms and one control, trial B two arms and
## one control, trial C a single comparison.  Arm 2 (ci/di, m2i/sd2i/n2i) is the shared control.

arms <- data.frame(
  trial = c("A", "A", "A", "B", "B", "C"),
  ai = c(12, 18, 9, 30, 25, 7), n1i = c(50, 52, 48, 120, 118, 40),
  ci = c(20, 20, 20, 41, 41, 11), n2i = c(51, 51, 51, 121, 121, 39),
  m1i = c(4.1, 3.6, 4.8, 10.2, 11.0, 7.3), sd1i = c(1.9, 2.1, 2.0, 3.1, 3.4, 2.2),
  m2i = c(5.0, 5.0, 5.0, 12.1, 12.1, 8.0), sd2i = c(2.2, 2.2, 2.2, 3.3, 3.3, 2.5)
)
arms$bi <- arms$n1i - arms$ai
arms$di <- arms$n2i - arms$ci
## total sample size of each trial over all of its arms (the control counted once)
arms$Ni <- ave(arms$n1i, arms$trial, FUN = sum) + arms$n2i

block_v <- function(cov_fun, es) {
  blocks <- lapply(split(seq_len(nrow(es)), factor(es$trial, levels = unique(es$trial))), function(idx) {
    m <- outer(idx, idx, function(i, j) cov_fun(es, i, j))
    diag(m) <- es$vi[idx]
    m
  })
  bldiag(blocks)
}

vcov_cases <- list()
add_vcov <- function(id, measure, es, cov_fun, formula, call) {
  V <- block_v(cov_fun, es)
  vcov_cases[[length(vcov_cases) + 1]] <<- list(id = id, measure = measure, call = call, formula = formula,
                                               yi = arr(es$yi), vi = arr(es$vi), V = rows(V))
}
es_or <- escalc("OR", ai = ai, bi = bi, ci = ci, di = di, data = arms)
add_vcov("multiarm_OR", "OR", es_or, function(es, i, j) 1 / es$ci[i] + 1 / es$di[i],
         "cov = 1/ci + 1/di (control cells)", "escalc('OR', ai=ai, bi=bi, ci=ci, di=di, data=arms)")
es_rr <- escalc("RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = arms)
add_vcov("multiarm_RR", "RR", es_rr, function(es, i, j) 1 / es$ci[i] - 1 / es$n2i[i],
         "cov = 1/ci - 1/n2i", "escalc('RR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=arms)")
es_rd <- escalc("RD", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = arms)
add_vcov("multiarm_RD", "RD", es_rd, function(es, i, j) (es$ci[i] / es$n2i[i]) * (1 - es$ci[i] / es$n2i[i]) / es$n2i[i],
         "cov = p2 (1 - p2) / n2i, p2 = ci/n2i", "escalc('RD', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=arms)")
es_md <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = arms)
add_vcov("multiarm_MD", "MD", es_md, function(es, i, j) es$sd2i[i]^2 / es$n2i[i],
         "cov = sd2i^2 / n2i", "escalc('MD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=arms)")
es_rom <- escalc("ROM", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = arms)
add_vcov("multiarm_ROM", "ROM", es_rom, function(es, i, j) es$sd2i[i]^2 / (es$n2i[i] * es$m2i[i]^2),
         "cov = sd2i^2 / (n2i m2i^2)", "escalc('ROM', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=arms)")
es_smd <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = arms)
add_vcov("multiarm_SMD", "SMD", es_smd, function(es, i, j) 1 / es$n2i[i] + es$yi[i] * es$yi[j] / (2 * es$Ni[i]),
         "cov = 1/n2i + yi yj / (2 Ni), Ni = total sample size of the trial (all arms)",
         "escalc('SMD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=arms)")
## a multivariate model on the shared-arm V (log OR): random = ~ 1 | trial/arm
es_or$arm <- seq_len(nrow(es_or))
V_or <- block_v(function(es, i, j) 1 / es$ci[i] + 1 / es$di[i], es_or)
r <- polish_fit("rma.mv(yi, V_or, random = ~ 1 | trial/arm, data = es_or, CTRL)")
call <- r$call
vcov_fit <- if (r$failed) NULL else list(call = call, warnings = r$warnings, beta = num(r$value$beta),
                                         se = num(r$value$se), sigma2 = arr(r$value$sigma2),
                                         ll = num(logLik(r$value)), QE = num(r$value$QE))
arms_out <- as.list(arms)
arms_out <- lapply(arms_out, function(x) if (is.numeric(x)) arr(x) else I(x))

## ---------------------------------------------------------------------------------------------------------
## Selection models
## ---------------------------------------------------------------------------------------------------------

SELCTRL <- c("control = list(optimizer = 'nlminb', rel.tol = 1e-12, iter.max = 10000, eval.max = 10000)",
             "control = list(optimizer = 'nlminb', rel.tol = 1e-11, iter.max = 10000, eval.max = 10000)",
             "control = list(optimizer = 'nlminb', iter.max = 10000, eval.max = 10000)",
             "control = list(optimizer = 'optim', optmethod = 'BFGS', reltol = 1e-14, maxit = 10000)")
SELCTRL_BETA <- paste0(sub(")$", "", SELCTRL), ", intCtrl = list(rel.tol = 1e-12, subdivisions = 10000L))")
sel_specs <- list(
  list(id = "hackshaw_step1", data = "hackshaw1998", fit = "rma(yi, vi, data = hack, method = 'ML')",
       sel = "selmodel(res, type = 'stepfun', steps = 0.025, SELCTRL)"),
  list(id = "hackshaw_step2", data = "hackshaw1998", fit = "rma(yi, vi, data = hack, method = 'ML')",
       sel = "selmodel(res, type = 'stepfun', steps = c(0.025, 0.5), SELCTRL)"),
  list(id = "hackshaw_step3", data = "hackshaw1998", fit = "rma(yi, vi, data = hack, method = 'ML')",
       sel = "selmodel(res, type = 'stepfun', steps = c(0.025, 0.1, 0.5, 1), SELCTRL)"),
  list(id = "hackshaw_beta", data = "hackshaw1998", fit = "rma(yi, vi, data = hack, method = 'ML')",
       sel = "selmodel(res, type = 'beta', SELCTRL_BETA)"),
  list(id = "hackshaw_REML_step1", data = "hackshaw1998", fit = "rma(yi, vi, data = hack)",
       sel = "selmodel(res, type = 'stepfun', steps = 0.025, SELCTRL)"),
  list(id = "bcg_step1", data = "bcg_RR", fit = "rma(yi, vi, data = bcg, method = 'ML')",
       sel = "selmodel(res, type = 'stepfun', steps = 0.025, SELCTRL)"),
  list(id = "bcg_step2", data = "bcg_RR", fit = "rma(yi, vi, data = bcg, method = 'ML')",
       sel = "selmodel(res, type = 'stepfun', steps = c(0.05, 0.5), SELCTRL)"),
  list(id = "bcg_beta", data = "bcg_RR", fit = "rma(yi, vi, data = bcg, method = 'ML')",
       sel = "selmodel(res, type = 'beta', SELCTRL_BETA)"),
  list(id = "hackshaw_EE_step1", data = "hackshaw1998", fit = "rma(yi, vi, data = hack, method = 'EE')",
       sel = "selmodel(res, type = 'stepfun', steps = 0.025, SELCTRL)")
)
sel_cases <- list()
for (s in sel_specs) {
  res <- eval(parse(text = s$fit))
  r <- if (grepl("SELCTRL_BETA", s$sel)) first_fit(s$sel, SELCTRL_BETA, "SELCTRL_BETA") else
    first_fit(s$sel, SELCTRL, "SELCTRL")
  call <- r$call
  if (r$failed) { record_failure(s$id, call, r); next }
  sel <- r$value
  sel_cases[[length(sel_cases) + 1]] <- list(
    id = s$id, dataset = s$data, fit_call = s$fit, call = call, warnings = r$warnings, type = sel$type,
    out = list(beta = arr(sel$beta), se = arr(sel$se), zval = arr(sel$zval), pval = arr(sel$pval),
               ci_lb = arr(sel$ci.lb), ci_ub = arr(sel$ci.ub),
               tau2 = num(sel$tau2), se_tau2 = num(sel$se.tau2),
               delta = arr(sel$delta), se_delta = arr(sel$se.delta), zval_delta = arr(sel$zval.delta),
               pval_delta = arr(sel$pval.delta), ci_lb_delta = arr(sel$ci.lb.delta),
               ci_ub_delta = arr(sel$ci.ub.delta), steps = arr(sel$steps), ptable_k = if (is.list(sel$ptable)) arr(sel$ptable$k) else NULL,
               LRT_tau2 = num(sel$LRT.tau2), LRTp_tau2 = num(sel$LRTp.tau2), vb = rows(sel$vb),
               LRT = num(sel$LRT), LRTp = num(sel$LRTp), LRTdf = num(sel$LRTdf),
               ll = num(sel$ll), ll0 = num(sel$ll0), QE = num(sel$QE), QEp = num(sel$QEp),
               fit_stats = arr(sel$fit.stats$ML)),
    print = paste(capture.output(print(sel)), collapse = "\n"))
}

## ---------------------------------------------------------------------------------------------------------

out <- list(
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  script = "tests/reference/multivariate.R",
  datasets = ds, mv = mv_cases, anova = anova_cases,
  vcov = list(arms = arms_out, cases = vcov_cases, fit = vcov_fit),
  selmodel = sel_cases, failures = failures
)
write_json(out, "multivariate.json", auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE)
message(sprintf("multivariate.json: %d mv, %d anova, %d vcov, %d selmodel, %d failures",
                length(mv_cases), length(anova_cases), length(vcov_cases), length(sel_cases), length(failures)))
