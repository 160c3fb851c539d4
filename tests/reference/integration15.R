## integration15.R -- reference numbers from R metafor where issue 15's additions (new measures, estimators,
## user weights) meet issue 13's interface (data=, na.action, control=, se.tau2 with a fixed tau^2).
##
## Writes integration15.json (next to this script).  Top level:
##   r_version, metafor_version, generated, script
##   data       dat.bcg with log risk ratios (escalc RR), a weight column w and two NA cells (yi of study 3,
##              w of study 7)
##   control    rma(yi, vi, data = bcg, method = m, control = ...) for m in PMM, SJIT with the tight
##              control (threshold = tol = 1e-12, maxiter = 10000), SJIT with tau2.init = 0.5 (metafor 3.8's
##              DLIT does not converge on dat.bcg from any start: only its error is recorded, in nonconv)
##   nonconv    rma(..., method = m, control = list(maxiter = 2)) and DLIT with the default control: the error
##              message (non-convergence)
##   tau2_fixed rma(yi, vi, data = bcg, tau2 = 0.1, method = m): se.tau2 at the fixed value (HSk, PMM, SJIT,
##              DLIT; GENQ with weights = w)
##   weights_na rma(yi, vi, weights = w, data = bcg_na, method = m): NA rows dropped (na.action = "na.omit")
##   measure_na escalc("PLO", xi = tpos, ni = tpos + tneg, data = bcg_na2): yi, vi with an NA count
##
## Regenerate with:   cd tests/reference && Rscript integration15.R     (a second)
## Conventions as in core.R: vectors are JSON arrays; NA/NaN/Inf are null; 15 significant digits.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

arr <- function(x) I(unname(as.numeric(x)))
fit_out <- function(res) list(estimate = c(res$beta), se = res$se, tau2 = res$tau2, se_tau2 = res$se.tau2,
                              i2 = res$I2, h2 = res$H2, q = res$QE, k = res$k)

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$w <- bcg$tpos + bcg$tneg + bcg$cpos + bcg$cneg
bcg_na <- bcg
bcg_na$yi[3] <- NA
bcg_na$w[7] <- NA

out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            generated = format(Sys.time(), "%Y-%m-%d"), script = "integration15.R")
out$data <- list(author = I(bcg$author), yi = arr(bcg$yi), vi = arr(bcg$vi), w = arr(bcg$w),
                 yi_na = arr(bcg_na$yi), w_na = arr(bcg_na$w), tpos = arr(bcg$tpos), tneg = arr(bcg$tneg),
                 call = "escalc(measure = 'RR', ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg); w = total n")

tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
out$control <- list()
for (m in c("PMM", "SJIT")) {
  res <- rma(yi, vi, data = bcg, method = m, control = tight)
  out$control[[length(out$control) + 1]] <- list(id = paste0(m, "_tight"), method = m, control = tight,
    call = sprintf("rma(yi, vi, data = bcg, method = '%s', control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000))", m),
    out = fit_out(res))
}
for (m in c("SJIT")) {   # DLIT of metafor 3.8 does not converge on dat.bcg from any start (see nonconv)
  res <- rma(yi, vi, data = bcg, method = m, control = list(tau2.init = 0.5))
  out$control[[length(out$control) + 1]] <- list(id = paste0(m, "_init"), method = m, control = list(tau2_init = 0.5),
    call = sprintf("rma(yi, vi, data = bcg, method = '%s', control = list(tau2.init = 0.5))", m),
    out = fit_out(res))
}
out$nonconv <- list()
for (m in c("SJIT", "DLIT")) {
  msg <- tryCatch({rma(yi, vi, data = bcg, method = m, control = list(maxiter = 2)); "converged"},
                  error = function(e) conditionMessage(e))
  out$nonconv[[length(out$nonconv) + 1]] <- list(method = m, control = list(maxiter = 2), error = msg,
    call = sprintf("rma(yi, vi, data = bcg, method = '%s', control = list(maxiter = 2))", m))
}
msg <- tryCatch({rma(yi, vi, data = bcg, method = "DLIT"); "converged"}, error = function(e) conditionMessage(e))
out$nonconv[[length(out$nonconv) + 1]] <- list(method = "DLIT", control = NULL, error = msg,
  call = "rma(yi, vi, data = bcg, method = 'DLIT')")
out$tau2_fixed <- list()
for (m in c("HSk", "PMM", "SJIT", "DLIT", "GENQ")) {
  res <- if (m == "GENQ") rma(yi, vi, data = bcg, tau2 = 0.1, method = m, weights = w) else
    rma(yi, vi, data = bcg, tau2 = 0.1, method = m)
  out$tau2_fixed[[length(out$tau2_fixed) + 1]] <- list(method = m, tau2 = 0.1, weights = (m == "GENQ"),
    call = sprintf("rma(yi, vi, data = bcg, tau2 = 0.1, method = '%s'%s)", m, if (m == "GENQ") ", weights = w" else ""),
    out = fit_out(res))
}
out$weights_na <- list()
for (m in c("REML", "DL", "GENQ")) {
  res <- suppressWarnings(rma(yi, vi, weights = w, data = bcg_na, method = m))
  out$weights_na[[length(out$weights_na) + 1]] <- list(method = m,
    call = sprintf("rma(yi, vi, weights = w, data = bcg_na, method = '%s')  # yi[3], w[7] NA", m),
    out = fit_out(res))
}
bcg_na2 <- dat.bcg
bcg_na2$tpos[5] <- NA
es <- suppressWarnings(escalc("PLO", xi = tpos, ni = tpos + tneg, data = bcg_na2))
out$measure_na <- list(call = "escalc('PLO', xi = tpos, ni = tpos + tneg, data = dat.bcg with tpos[5] = NA)",
                       yi = arr(es$yi), vi = arr(es$vi))

write_json(out, "integration15.json", auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE)
