## display.R -- reference numbers from R metafor for the back-transformed display of single-group measures
## (issue 15: "PFT -> proportion with the harmonic-mean n, ZCOR -> r", used by the printouts and forest plots).
##
## Writes display.json (next to this script).  Top level:
##   r_version, metafor_version, metadat_version, generated, script
##   cases   one per (data set, measure, method): the escalc call and its inputs (named as escalc's arguments), yi, vi, ni (where the measure has one),
##           the rma call, and predict(res, transf = f) -- pred, ci.lb, ci.ub, pi.lb, pi.ub -- with the
##           back-transformation f named in `transf` (transf.ilogit, exp (metafor 3.8 has no transf.exp), transf.iarcsin, transf.ztor,
##           transf.isqrt, transf.ipft.hm with targs = list(ni = dat$ni)), and the untransformed predict
##   regression  rma(yi, vi, mods = ~ year) for log incidence rates and log proportions: coef, ci.lb, ci.ub and
##           their exponentials (exp(coef(res)), exp(res$ci.lb), exp(res$ci.ub))
##
## Regenerate with:   cd tests/reference && Rscript display.R     (a second)
## Conventions as in core.R: vectors are JSON arrays; NA/NaN/Inf are null; 15 significant digits.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

arr <- function(x) I(unname(as.numeric(x)))
pred_out <- function(p) list(pred = c(p$pred), ci_lb = c(p$ci.lb), ci_ub = c(p$ci.ub),
                             pi_lb = c(p$pi.lb), pi_ub = c(p$pi.ub))

out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            metadat_version = as.character(packageVersion("metadat")),
            generated = format(Sys.time(), "%Y-%m-%d"), script = "display.R", cases = list())

add_case <- function(id, dataset, measure, es_call, es, method, transf_name, p_t, p, inputs, ni = NULL) {
  case <- list(id = id, dataset = dataset, measure = measure, escalc_call = es_call, method = method,
               inputs = inputs,
               yi = arr(es$yi), vi = arr(es$vi),
               rma_call = sprintf("rma(yi, vi, data = es, method = '%s')", method),
               transf = transf_name,
               predict_call = if (transf_name == "transf.ipft.hm")
                 "predict(res, transf = transf.ipft.hm, targs = list(ni = dat$ni))" else
                 sprintf("predict(res, transf = %s)", transf_name),
               back = pred_out(p_t), analysis = pred_out(p))
  if (!is.null(ni)) case$ni <- arr(ni)
  case
}

pritz <- dat.pritz1997
molloy <- dat.molloy2014
hart <- dat.hart1999
normand <- dat.normand1999
tf <- list(transf.ilogit = transf.ilogit, exp = exp, transf.iarcsin = transf.iarcsin,
           transf.ztor = transf.ztor, transf.isqrt = transf.isqrt)

specs <- list(
  list("dat.pritz1997", "PLO", "transf.ilogit", quote(escalc("PLO", xi = xi, ni = ni, data = pritz)),
       "escalc('PLO', xi = xi, ni = ni, data = dat.pritz1997)"),
  list("dat.pritz1997", "PLN", "exp", quote(escalc("PLN", xi = xi, ni = ni, data = pritz)),
       "escalc('PLN', xi = xi, ni = ni, data = dat.pritz1997)"),
  list("dat.pritz1997", "PAS", "transf.iarcsin", quote(escalc("PAS", xi = xi, ni = ni, data = pritz)),
       "escalc('PAS', xi = xi, ni = ni, data = dat.pritz1997)"),
  list("dat.pritz1997", "PFT", "transf.ipft.hm", quote(escalc("PFT", xi = xi, ni = ni, data = pritz)),
       "escalc('PFT', xi = xi, ni = ni, data = dat.pritz1997)"),
  list("dat.molloy2014", "ZCOR", "transf.ztor", quote(escalc("ZCOR", ri = ri, ni = ni, data = molloy)),
       "escalc('ZCOR', ri = ri, ni = ni, data = dat.molloy2014)"),
  list("dat.hart1999", "IRLN", "exp", quote(escalc("IRLN", xi = x1i, ti = t1i, data = hart)),
       "escalc('IRLN', xi = x1i, ti = t1i, data = dat.hart1999)"),
  list("dat.hart1999", "IRS", "transf.isqrt", quote(escalc("IRS", xi = x1i, ti = t1i, data = hart)),
       "escalc('IRS', xi = x1i, ti = t1i, data = dat.hart1999)"),
  list("dat.normand1999", "MNLN", "exp", quote(escalc("MNLN", mi = m1i, sdi = sd1i, ni = n1i, data = normand)),
       "escalc('MNLN', mi = m1i, sdi = sd1i, ni = n1i, data = dat.normand1999)"),
  list("dat.normand1999", "CVLN", "exp", quote(escalc("CVLN", mi = m1i, sdi = sd1i, ni = n1i, data = normand)),
       "escalc('CVLN', mi = m1i, sdi = sd1i, ni = n1i, data = dat.normand1999)"),
  list("dat.normand1999", "SDLN", "exp", quote(escalc("SDLN", sdi = sd1i, ni = n1i, data = normand)),
       "escalc('SDLN', sdi = sd1i, ni = n1i, data = dat.normand1999)")
)

for (s in specs) {
  es <- eval(s[[4]])
  ni <- switch(s[[1]], dat.pritz1997 = pritz$ni, dat.molloy2014 = molloy$ni, dat.normand1999 = normand$n1i,
               NULL)
  inputs <- switch(s[[1]],
    dat.pritz1997 = list(xi = arr(pritz$xi), ni = arr(pritz$ni)),
    dat.molloy2014 = list(ri = arr(molloy$ri), ni = arr(molloy$ni)),
    dat.hart1999 = list(xi = arr(hart$x1i), ti = arr(hart$t1i)),
    dat.normand1999 = if (s[[2]] == "SDLN") list(sdi = arr(normand$sd1i), ni = arr(normand$n1i)) else
      list(mi = arr(normand$m1i), sdi = arr(normand$sd1i), ni = arr(normand$n1i)))
  for (m in c("REML", "DL", "EE")) {
    res <- rma(yi, vi, data = es, method = m)
    p <- predict(res)
    p_t <- if (s[[3]] == "transf.ipft.hm") predict(res, transf = transf.ipft.hm, targs = list(ni = pritz$ni)) else
      predict(res, transf = tf[[s[[3]]]])
    out$cases[[length(out$cases) + 1]] <- add_case(paste(s[[2]], m, sep = "_"), s[[1]], s[[2]], s[[5]], es, m,
                                                   s[[3]], p_t, p, inputs, ni = ni)
  }
}

out$regression <- list()
regs <- list(
  list("dat.hart1999", "IRLN", quote(escalc("IRLN", xi = x1i, ti = t1i, data = hart)),
       "escalc('IRLN', xi = x1i, ti = t1i, data = dat.hart1999)", hart$year),
  list("dat.pritz1997", "PLN", quote(escalc("PLN", xi = xi, ni = ni, data = pritz)),
       "escalc('PLN', xi = xi, ni = ni, data = dat.pritz1997)", pritz$study)
)
for (s in regs) {
  es <- eval(s[[3]])
  es$mod <- s[[5]]
  res <- rma(yi, vi, mods = ~ mod, data = es)
  out$regression[[length(out$regression) + 1]] <- list(
    id = s[[2]], dataset = s[[1]], measure = s[[2]], escalc_call = s[[4]],
    mod = arr(es$mod), inputs = if (s[[1]] == "dat.hart1999") list(xi = arr(hart$x1i), ti = arr(hart$t1i)) else
      list(xi = arr(pritz$xi), ni = arr(pritz$ni)), mod_name = if (s[[1]] == "dat.hart1999") "year" else "study",
    yi = arr(es$yi), vi = arr(es$vi),
    rma_call = "rma(yi, vi, mods = ~ mod, data = es)",
    coef = arr(coef(res)), ci_lb = arr(res$ci.lb), ci_ub = arr(res$ci.ub),
    exp_call = "exp(coef(res)); exp(res$ci.lb); exp(res$ci.ub)",
    exp_coef = arr(exp(coef(res))), exp_ci_lb = arr(exp(res$ci.lb)), exp_ci_ub = arr(exp(res$ci.ub)))
}

write_json(out, "display.json", auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE)
