## mi_crosscheck.R -- the magnesium-in-myocardial-infarction data sets of R metadat, and metafor's
## analyses of them, as a cross-check of data/mi/ and mgmeta.review.mi (issue 14).
##
## Writes mi_crosscheck.json (next to this script).  Top level:
##   r_version, metafor_version, metadat_version, jsonlite_version, generated, script
##   datasets   dat.egger2001 and dat.li2007 as printed by metadat (id, study, year, ai, n1i, ci, n2i)
##   fits       one entry per analysis: call (the exact R call), estimate/ci_lower/ci_upper on the log
##              scale, pvalue, q, i2, tau2 (random-effects fits), k
##   cumul      cumulative Peto fits of dat.egger2001 in its row (publication year) order: log OR and p
##   regtest    Egger's regression test of the DL fit of dat.li2007 and of the Peto-scale fit of dat.egger2001
##
## metadat is a check, not the source of data/mi: data/mi/README.md lists every number that has no other
## source and every difference between the data sets and the papers.
##
## Regenerate with:   cd tests/reference && Rscript mi_crosscheck.R      (about 2 s)
## Needs R with metafor (3.8), metadat and jsonlite.  The Python tests only read mi_crosscheck.json.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

num <- function(x) unname(as.numeric(x))[1]
fit_entry <- function(call, res) {
  out <- list(call = call, estimate = num(res$beta), ci_lower = num(res$ci.lb), ci_upper = num(res$ci.ub),
              se = num(res$se), pvalue = num(res$pval), q = num(res$QE), i2 = num(res$I2), k = num(res$k))
  if (!is.null(res$tau2) && res$method != "EE" && res$method != "FE") out$tau2 <- num(res$tau2)
  out
}
run <- function(call) fit_entry(call, eval(parse(text = call)))

egger <- dat.egger2001
li <- dat.li2007

calls <- c(
  teo1991_peto = "rma.peto(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001, subset=1:7)",
  yusuf1993_peto = "rma.peto(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001, subset=c(1:7,14))",
  egger2001_peto_no_isis4 = "rma.peto(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001, subset=-16)",
  egger2001_peto_all = "rma.peto(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001)",
  li2007_mh = "rma.mh(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007, measure='OR')",
  li2007_dl = "rma(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007, method='DL')",
  li2007_ee = "rma(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007, method='EE')"
)
fits <- lapply(names(calls), function(n) run(calls[[n]]))
names(fits) <- names(calls)

cumul_call <- "cumul(rma.peto(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001))"
cum <- eval(parse(text = cumul_call))

reg_li_call <- "regtest(rma(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007, method='DL'))"
reg_li <- eval(parse(text = reg_li_call))
reg_eg_call <- "regtest(rma(measure='PETO', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.egger2001, method='EE'))"
reg_eg <- eval(parse(text = reg_eg_call))
reg <- function(call, r) list(call = call, zval = num(r$zval), pvalue = num(r$pval), limit = num(r$est))

write_json(
  list(
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    generated = format(Sys.time(), "%Y-%m-%d"),
    script = "tests/reference/mi_crosscheck.R",
    datasets = list(egger2001 = egger, li2007 = li),
    fits = fits,
    cumul = list(call = cumul_call, study = egger$study, year = egger$year, estimate = unname(cum$estimate),
                 pvalue = unname(cum$pval)),
    regtest = list(li2007_dl = reg(reg_li_call, reg_li), egger2001_peto = reg(reg_eg_call, reg_eg))
  ),
  "mi_crosscheck.json", auto_unbox = TRUE, digits = 15, pretty = TRUE, na = "null", dataframe = "columns"
)
