## usability.R -- reference numbers from R metafor for the metafor-user interface of mgmeta (issue 13).
##
## Writes usability.json (next to this script).  Top level:
##   r_version, metafor_version, metadat_version, jsonlite_version, generated, script
##   datasets   the data frames used below, column by column (NA as null)
##   formula    rma(yi, vi, mods = <formula>, data = ...): coefficient names, estimates, se, z, p, CI,
##              tau^2 and its SE, QM, QE, I^2, H^2, R^2; predict() with newmods (and transf = exp)
##   control    rma(..., control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)) and the default
##              control, with confint(res, control = list(tol = 1e-12, maxiter = 10000)) and leave1out() /
##              influence() of the fit (they reuse res$control); also stepadj and tau2.init (ML, REML, EB, SJ)
##   gosh, permutest  gosh() and permutest(exact = TRUE) of fits with the tight control (they reuse res$control)
##   na_action  rma(yi, vi, mods, data) on data with NA rows (metafor's default na.action = "na.omit")
##   tau2_fixed rma(yi, vi, tau2 = <value>, method = m): se.tau2 evaluated at the fixed value
##   binary_l1o leave1out() of rma.mh (OR, RR, RD) and rma.peto fits
##   unique     metafor's .make.unique() of duplicated study labels
##
## Regenerate with:   cd tests/reference && Rscript usability.R     (a few seconds)
## Needs R with metafor (3.8), metadat and jsonlite.  The Python tests only read usability.json.
## Conventions as in core.R: vectors are JSON arrays; NA/NaN/Inf are null; 15 significant digits.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

arr <- function(x) I(unname(as.numeric(x)))
chr <- function(x) I(unname(as.character(x)))

run <- function(expr) {
  warns <- character()
  value <- withCallingHandlers(expr, warning = function(w) {
    warns <<- c(warns, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = I(unique(warns)))
}

## ---------------------------------------------------------------------------------------------------------
## data
## ---------------------------------------------------------------------------------------------------------
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
raud <- dat.raudenbush1985
li <- dat.li2007
bcg_na <- bcg
bcg_na$ablat[3] <- NA
bcg_na$yi[7] <- NA

frame_json <- function(d) {
  out <- list()
  for (n in names(d)) out[[n]] <- if (is.numeric(d[[n]])) arr(d[[n]]) else chr(d[[n]])
  out
}
datasets <- list(
  bcg = c(frame_json(as.data.frame(bcg)[, c("trial", "author", "year", "tpos", "tneg", "cpos", "cneg",
                                            "ablat", "alloc", "yi", "vi")]),
          list(call = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)")),
  bcg_na = c(frame_json(as.data.frame(bcg_na)[, c("trial", "author", "ablat", "yi", "vi")]),
             list(call = "bcg with ablat[3] <- NA and yi[7] <- NA")),
  raudenbush = c(frame_json(raud[, c("study", "author", "year", "weeks", "setting", "tester", "yi", "vi")]),
                 list(call = "dat.raudenbush1985")),
  li = c(frame_json(li[, c("study", "year", "ai", "n1i", "ci", "n2i")]), list(call = "dat.li2007"))
)

reg_out <- function(res) {
  list(names = chr(rownames(res$beta)), coef = arr(res$beta), se = arr(res$se), zval = arr(res$zval),
       pval = arr(res$pval), ci_lower = arr(res$ci.lb), ci_upper = arr(res$ci.ub), tau2 = res$tau2,
       se_tau2 = res$se.tau2, qm = res$QM, qm_df = res$QMdf[1], qm_pvalue = res$QMp, qe = res$QE,
       qe_pvalue = res$QEp, i2 = res$I2, h2 = res$H2, r2 = if (is.null(res$R2)) NA else res$R2, k = res$k,
       p = res$p)
}

## ---------------------------------------------------------------------------------------------------------
## formula moderators
## ---------------------------------------------------------------------------------------------------------
formula_cases <- list(
  list(id = "bcg_ablat_year", data = "bcg", mods = "~ ablat + year", method = "REML"),
  list(id = "bcg_ablat", data = "bcg", mods = "~ ablat", method = "REML"),
  list(id = "bcg_factor_alloc", data = "bcg", mods = "~ factor(alloc)", method = "REML"),
  list(id = "bcg_factor_alloc_noint", data = "bcg", mods = "~ factor(alloc) - 1", method = "REML"),
  list(id = "bcg_alloc_noint_0", data = "bcg", mods = "~ 0 + alloc", method = "DL"),
  list(id = "bcg_ablat_x_year", data = "bcg", mods = "~ ablat * year", method = "REML"),
  list(id = "bcg_ablat_colon_alloc", data = "bcg", mods = "~ ablat + ablat:factor(alloc)", method = "DL"),
  list(id = "bcg_I_ablat2", data = "bcg", mods = "~ ablat + I(ablat^2)", method = "ML"),
  list(id = "raud_tester_noint", data = "raudenbush", mods = "~ tester - 1", method = "REML"),
  list(id = "raud_tester", data = "raudenbush", mods = "~ tester", method = "REML"),
  list(id = "raud_weeks_setting", data = "raudenbush", mods = "~ weeks + setting", method = "REML")
)
frames <- list(bcg = bcg, raudenbush = raud)
formula <- list()
for (cs in formula_cases) {
  d <- frames[[cs$data]]
  call <- sprintf("rma(yi, vi, mods = %s, method = '%s', data = %s)", cs$mods, cs$method,
                  c(bcg = "bcg", raudenbush = "dat.raudenbush1985")[[cs$data]])
  r <- run(rma(yi, vi, mods = as.formula(cs$mods), method = cs$method, data = d))
  formula[[length(formula) + 1]] <- c(cs, list(call = call, out = reg_out(r$value), warnings = r$warnings))
}
res_ablat <- rma(yi, vi, mods = ~ ablat, data = bcg)
p1 <- predict(res_ablat, newmods = c(10, 30, 50))
p2 <- predict(res_ablat, newmods = c(10, 30, 50), transf = exp)
predict_case <- list(
  call = "predict(rma(yi, vi, mods = ~ ablat, data = bcg), newmods = c(10, 30, 50))",
  call_exp = "predict(rma(yi, vi, mods = ~ ablat, data = bcg), newmods = c(10, 30, 50), transf = exp)",
  newmods = arr(c(10, 30, 50)),
  pred = arr(p1$pred), se = arr(p1$se), ci_lower = arr(p1$ci.lb), ci_upper = arr(p1$ci.ub),
  pi_lower = arr(p1$pi.lb), pi_upper = arr(p1$pi.ub),
  exp = list(pred = arr(p2$pred), ci_lower = arr(p2$ci.lb), ci_upper = arr(p2$ci.ub),
             pi_lower = arr(p2$pi.lb), pi_upper = arr(p2$pi.ub)))
res_fac <- rma(yi, vi, mods = ~ factor(alloc), data = bcg)
p3 <- predict(res_fac, newmods = rbind(c(0, 0), c(1, 0), c(0, 1)))
predict_factor <- list(call = "predict(rma(yi, vi, mods = ~ factor(alloc), data = bcg), newmods = rbind(c(0,0), c(1,0), c(0,1)))",
                       pred = arr(p3$pred), se = arr(p3$se))

## ---------------------------------------------------------------------------------------------------------
## control
## ---------------------------------------------------------------------------------------------------------
tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
ci_tight <- list(tol = 1e-12, maxiter = 10000)
ci_part <- function(ci) {
  r <- ci$random
  list(tau2 = arr(r["tau^2", ]), tau = arr(r["tau", ]), i2 = arr(r["I^2(%)", ]), h2 = arr(r["H^2", ]))
}
fit_out <- function(res) {
  list(estimate = res$b[1], se = res$se[1], zval = res$zval[1], pval = res$pval[1], ci_lower = res$ci.lb[1],
       ci_upper = res$ci.ub[1], tau2 = res$tau2, se_tau2 = res$se.tau2, i2 = res$I2, h2 = res$H2, q = res$QE)
}
l1o_out <- function(l) {
  list(estimate = arr(l$estimate), se = arr(l$se), zval = arr(l$zval), pval = arr(l$pval),
       ci_lower = arr(l$ci.lb), ci_upper = arr(l$ci.ub), q = arr(l$Q), q_pvalue = arr(l$Qp),
       tau2 = if (is.null(l$tau2)) NULL else arr(l$tau2), i2 = arr(l$I2), h2 = arr(l$H2))
}
control <- list()
for (m in c("PM", "REML", "ML", "EB")) {
  for (which in c("default", "tight")) {
    ctl <- if (which == "tight") tight else list()
    res <- rma(yi, vi, data = bcg, method = m, control = ctl)
    ci <- if (which == "tight") confint(res, control = ci_tight) else confint(res)
    inf <- influence(res)
    control[[length(control) + 1]] <- list(
      id = paste0("bcg_", m, "_", which), method = m, control = if (which == "tight") tight else NULL,
      call = sprintf("rma(yi, vi, data = bcg, method = '%s'%s)", m,
                     if (which == "tight") ", control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)" else ""),
      confint_call = if (which == "tight") "confint(res, control = list(tol = 1e-12, maxiter = 10000))" else "confint(res)",
      out = fit_out(res), confint = ci_part(ci), leave1out = l1o_out(leave1out(res)),
      influence = list(tau2_del = arr(inf$inf$tau2.del), rstudent = arr(inf$inf$rstudent),
                       cooks = arr(inf$inf$cook.d)))
  }
}
## meta-regression with tight control
res <- rma(yi, vi, mods = ~ ablat, data = bcg, method = "PM", control = tight)
control_reg <- list(call = "rma(yi, vi, mods = ~ ablat, data = bcg, method = 'PM', control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000))",
                    out = reg_out(res))
## stepadj and tau2.init (default threshold: the stopping point depends on the path)
extra_control <- list()
for (cs in list(list(id = "bcg_REML_stepadj", control = list(stepadj = 0.5), method = "REML"),
                list(id = "bcg_REML_init", control = list(tau2.init = 1), method = "REML"),
                list(id = "bcg_ML_init", control = list(tau2.init = 0.05), method = "ML"),
                list(id = "bcg_EB_stepadj_init", control = list(stepadj = 0.8, tau2.init = 0.5), method = "EB"),
                list(id = "bcg_SJ_init", control = list(tau2.init = 0.2), method = "SJ"))) {
  res <- rma(yi, vi, data = bcg, method = cs$method, control = cs$control)
  extra_control[[length(extra_control) + 1]] <- list(
    id = cs$id, method = cs$method, control = cs$control,
    call = sprintf("rma(yi, vi, data = bcg, method = '%s', control = %s)", cs$method,
                   paste(deparse(cs$control), collapse = "")),
    out = fit_out(res))
}

## GOSH and an exact permutation test of fits with the tight control (both refit with res$control)
bcg6 <- bcg[1:6, ]
res6 <- rma(yi, vi, data = bcg6, method = "PM", control = tight)
g <- gosh(res6, progbar = FALSE)
gosh_case <- list(call = "gosh(rma(yi, vi, data = bcg[1:6, ], method = 'PM', control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)))",
                  incl = lapply(seq_len(nrow(g$incl)), function(i) I(as.logical(g$incl[i, ]))),
                  tau2 = arr(g$res$tau2), estimate = arr(g$res$estimate), i2 = arr(g$res$I2))
reg6 <- rma(yi, vi, mods = ~ ablat, data = bcg6, method = "PM", control = tight)
pt <- permutest(reg6, exact = TRUE, progbar = FALSE)
permutest_case <- list(call = "permutest(rma(yi, vi, mods = ~ ablat, data = bcg[1:6, ], method = 'PM', control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)), exact = TRUE)",
                       pval = arr(pt$pval), qm_pvalue = pt$QMp, qm = reg6$QM)

## ---------------------------------------------------------------------------------------------------------
## na.action (metafor's default: na.omit, with a warning)
## ---------------------------------------------------------------------------------------------------------
na_cases <- list()
r <- run(rma(yi, vi, mods = ~ ablat, data = bcg_na))
na_cases[[1]] <- list(id = "bcg_na_ablat", call = "rma(yi, vi, mods = ~ ablat, data = bcg_na)",
                      omitted = arr(which(!r$value$not.na) - 1), out = reg_out(r$value), warnings = r$warnings)
r <- run(rma(yi, vi, data = bcg_na))
na_cases[[2]] <- list(id = "bcg_na_intercept", call = "rma(yi, vi, data = bcg_na)",
                      omitted = arr(which(!r$value$not.na) - 1), out = fit_out(r$value), warnings = r$warnings)

## ---------------------------------------------------------------------------------------------------------
## se.tau2 with a fixed tau2
## ---------------------------------------------------------------------------------------------------------
tau2_fixed <- list()
for (m in c("REML", "ML", "DL", "PM", "EB", "HE", "HS", "SJ")) {
  res <- rma(yi, vi, data = bcg, method = m, tau2 = 0.1)
  tau2_fixed[[length(tau2_fixed) + 1]] <- list(id = paste0("bcg_", m, "_tau2_0.1"), method = m,
                                               call = sprintf("rma(yi, vi, data = bcg, method = '%s', tau2 = 0.1)", m),
                                               out = fit_out(res))
}
res <- rma(yi, vi, mods = ~ ablat, data = bcg, tau2 = 0.05)
tau2_fixed_reg <- list(call = "rma(yi, vi, mods = ~ ablat, data = bcg, tau2 = 0.05)", out = reg_out(res))

## ---------------------------------------------------------------------------------------------------------
## leave-one-out of Mantel-Haenszel and Peto fits
## ---------------------------------------------------------------------------------------------------------
binary_l1o <- list()
for (cs in list(list(id = "li_MH_OR", fun = "mh", measure = "OR", data = "li"),
                list(id = "li_MH_RR", fun = "mh", measure = "RR", data = "li"),
                list(id = "li_MH_RD", fun = "mh", measure = "RD", data = "li"),
                list(id = "li_PETO", fun = "peto", data = "li"),
                list(id = "bcg_MH_OR", fun = "mh", measure = "OR", data = "bcg"),
                list(id = "bcg_PETO", fun = "peto", data = "bcg"))) {
  if (cs$data == "li") {
    res <- if (cs$fun == "mh") rma.mh(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = li, measure = cs$measure)
           else rma.peto(ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = li)
    call <- if (cs$fun == "mh") sprintf("rma.mh(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007, measure='%s')", cs$measure)
            else "rma.peto(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007)"
  } else {
    res <- if (cs$fun == "mh") rma.mh(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg, measure = cs$measure)
           else rma.peto(ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    call <- if (cs$fun == "mh") sprintf("rma.mh(ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg, measure='%s')", cs$measure)
            else "rma.peto(ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)"
  }
  r <- run(leave1out(res))
  rs <- run(rstudent(res))
  binary_l1o[[length(binary_l1o) + 1]] <- c(cs, list(call = paste0("leave1out(", call, ")"),
                                                     full = list(estimate = res$b[1], se = res$se),
                                                     out = l1o_out(r$value), warnings = r$warnings,
                                                     rstudent_call = paste0("rstudent(", call, ")"),
                                                     rstudent = list(resid = arr(rs$value$resid), se = arr(rs$value$se),
                                                                     z = arr(rs$value$z))))
}

## ---------------------------------------------------------------------------------------------------------
## unique labels
## ---------------------------------------------------------------------------------------------------------
labs <- c("Shechter", "Smith", "Shechter", "Jones", "Shechter", "Smith")
unique_labels <- list(call = "metafor:::.make.unique(c('Shechter','Smith','Shechter','Jones','Shechter','Smith'))",
                      input = chr(labs), out = chr(metafor:::.make.unique(labs)))

out <- list(
  r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  jsonlite_version = as.character(packageVersion("jsonlite")), generated = format(Sys.Date()),
  script = "tests/reference/usability.R",
  datasets = datasets, formula = formula, predict = predict_case, predict_factor = predict_factor,
  control = control, control_reg = control_reg, extra_control = extra_control, gosh = gosh_case,
  permutest = permutest_case, na_action = na_cases,
  tau2_fixed = tau2_fixed, tau2_fixed_reg = tau2_fixed_reg, binary_l1o = binary_l1o,
  unique_labels = unique_labels)
write_json(out, "usability.json", auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE)
