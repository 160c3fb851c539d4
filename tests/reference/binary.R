## binary.R -- reference numbers from R metafor for mgmeta.binary (Mantel-Haenszel and Peto pooling).
##
## Writes binary.json (next to this script):
##   { "r_version", "metafor_version", "metadat_version", "jsonlite_version", "generated", "script",
##     "cases": [ { "id", "call", "data", "measure", "method", "inputs": {...}, "args": {...},
##                  "source", "error", "warnings", "out": {...} } ] }
##
## Regenerate with:   cd tests/reference && Rscript binary.R
## Needs R with metafor, metadat and jsonlite.  The Python tests only read binary.json.
##
## Conventions
## - "inputs" holds the data exactly as passed (either ai, bi, ci, di or ai, n1i, ci, n2i) plus "labels".
## - "args" uses the Python argument names of mgmeta.mantel_haenszel / mgmeta.peto: level is a proportion
##   (the R call gets level = 100 * level); add, to, drop00 are a scalar or a pair, as in metafor.
## - "out" holds rma.mh / rma.peto results: estimate (beta, log scale for OR/RR/PETO), se, statistic (zval),
##   pvalue, ci_lower, ci_upper, q (QE), q_pvalue, i2, h2, k, k_yi, k_pos, cmh (MH), cmh_pvalue,
##   tarone (TA), tarone_pvalue, weights (percent; null for a table left out), yi, vi (study level,
##   null where metafor has NA).  NA, NaN and +-Inf are written as null.
## - "source" is "metafor" for every case except those with mh_rd_variance = "gr": metafor only has the
##   Sato-Greenland-Robins variance for the MH risk difference, so the Greenland-Robins (1985) standard
##   error is computed here from its published formula (Greenland & Robins 1985, Biometrics 41:55-68,
##   doi:10.2307/2530643; also Deeks & Higgins, "Statistical algorithms in Review Manager 5", 2010) on the
##   tables rma.mh used; everything else in those cases (estimate, Q, I^2, H^2) is metafor's.
## - "error" is null, or R's error message when the call failed.  A case whose estimate, se or Q is NA
##   (metafor could not compute it) is one where mgmeta must raise DataError.
## - Data sets with incomplete rows (dat.yusuf1985) have those rows dropped before the call; "inputs"
##   holds exactly the rows passed.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

## weights() then returns one value per study (NA for a table left out) instead of dropping it;
## rma.mh / rma.peto treat na.omit, na.exclude and na.pass alike, so the fits are unchanged.
options(na.action = "na.exclude")

arr <- function(x) I(unname(as.numeric(x)))
num <- function(x) if (is.null(x) || length(x) == 0) NA else unname(as.numeric(x))[1]

## Evaluate `expr`, collecting warnings; errors come back as condition objects.
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

## An argument value as it is typed in an R call.
fmt <- function(v) {
  s <- if (is.character(v)) sprintf("'%s'", v) else if (is.logical(v)) as.character(v) else format(v, digits = 15)
  if (length(v) > 1) paste0("c(", paste(s, collapse = ", "), ")") else s
}

## Python-side args -> the R argument string.
r_args <- function(args) {
  out <- character()
  for (nm in names(args)) {
    v <- args[[nm]]
    if (nm == "mh_rd_variance") next
    if (nm == "level") v <- 100 * v
    out <- c(out, sprintf("%s=%s", nm, fmt(v)))
  }
  if (length(out) == 0) "" else paste0(", ", paste(out, collapse = ", "))
}

## Greenland-Robins (1985) variance of the MH risk difference, on the tables rma.mh pooled.
## A study with an empty arm contributes 0 (a*b/n1 -> 0 as n1 -> 0).
gr_se <- function(res) {
  ai <- as.numeric(res$outdat$ai); bi <- as.numeric(res$outdat$bi)
  ci <- as.numeric(res$outdat$ci); di <- as.numeric(res$outdat$di)
  n1 <- ai + bi; n2 <- ci + di; N <- n1 + n2
  t1 <- ifelse(n1 > 0, ai * bi / n1, 0) * n2^2 / N^2
  t2 <- ifelse(n2 > 0, ci * di / n2, 0) * n1^2 / N^2
  sqrt(sum(t1 + t2)) / sum(n1 * n2 / N)
}

cases <- list()

## One case.  `d` is a data frame with columns ai, ci, either bi, di or n1i, n2i, and slab.
## `fun` is "rma.mh" or "rma.peto".
add_case <- function(id, dataname, d, fun, measure = NULL, args = list()) {
  form <- if ("bi" %in% names(d)) c("ai", "bi", "ci", "di") else c("ai", "n1i", "ci", "n2i")
  gr <- identical(args$mh_rd_variance, "gr")
  call <- paste0(fun, "(", paste(sprintf("%s=%s", form, form), collapse = ", "),
                 ", slab=slab, data=d",
                 if (!is.null(measure)) sprintf(", measure='%s'", measure) else "",
                 r_args(args), ")")
  r <- run(eval(parse(text = call)))
  inputs <- lapply(d[form], arr)
  inputs$labels <- I(as.character(d$slab))
  out <- NULL
  err <- NULL
  if (r$failed) {
    err <- conditionMessage(r$value)
  } else {
    res <- r$value
    w <- run(weights(res))
    wts <- if (w$failed) NA else w$value
    out <- list(
      estimate = num(res$beta), se = num(res$se), statistic = num(res$zval), pvalue = num(res$pval),
      ci_lower = num(res$ci.lb), ci_upper = num(res$ci.ub),
      q = num(res$QE), q_pvalue = num(res$QEp), i2 = num(res$I2), h2 = num(res$H2),
      k = num(res$k), k_yi = num(res$k.yi), k_pos = num(res$k.pos),
      cmh = num(res$MH), cmh_pvalue = num(res$MHp), tarone = num(res$TA), tarone_pvalue = num(res$TAp),
      weights = arr(wts), yi = arr(res$yi.f), vi = arr(res$vi.f)
    )
    if (fun == "rma.peto") out$cmh <- out$cmh_pvalue <- out$tarone <- out$tarone_pvalue <- NA
    if (!is.null(measure) && measure != "OR") out$tarone <- out$tarone_pvalue <- out$k_pos <- NA
    if (gr) {
      ## Only the standard error (and what follows from it) changes.
      se <- gr_se(res)
      crit <- qnorm((1 - args$level %||% 0.95) / 2, lower.tail = FALSE)
      out$se <- se
      out$statistic <- out$estimate / se
      out$pvalue <- 2 * pnorm(abs(out$statistic), lower.tail = FALSE)
      out$ci_lower <- out$estimate - crit * se
      out$ci_upper <- out$estimate + crit * se
      call <- paste0(call, "  # se replaced by the Greenland-Robins (1985) formula, see gr_se() in binary.R")
    }
  }
  cases[[length(cases) + 1]] <<- list(
    id = id, call = call, data = dataname,
    measure = if (fun == "rma.peto") "PETO" else measure,
    method = if (fun == "rma.peto") "PETO" else "MH",
    inputs = inputs, args = if (length(args)) args else setNames(list(), character()),
    source = if (gr) "formula" else "metafor",
    error = err, warnings = r$warnings, out = out
  )
}
`%||%` <- function(a, b) if (is.null(a)) b else a

## Run the three MH measures and Peto on one data set with one set of args.
add_all <- function(prefix, dataname, d, args = list(), measures = c("OR", "RR", "RD"), peto = TRUE) {
  for (m in measures) add_case(paste0(prefix, "_MH_", m), dataname, d, "rma.mh", m, args)
  if (peto) add_case(paste0(prefix, "_PETO"), dataname, d, "rma.peto", NULL, args)
}

## ---------------------------------------------------------------------------------------------------------
## Data sets
## ---------------------------------------------------------------------------------------------------------

## BCG vaccine trials (Colditz et al. 1994): 13 studies, no zero cells; (ai, bi, ci, di) form.
bcg <- with(dat.bcg, data.frame(ai = tpos, bi = tneg, ci = cpos, di = cneg, slab = paste(author, year)))

## Antimicrobial-impregnated catheters (Niel-Weise et al. 2007): single zeros and one double zero (Yucel).
niel <- with(dat.nielweise2007, data.frame(ai = ai, n1i = n1i, ci = ci, n2i = n2i, slab = paste(author, year)))

## Intravenous magnesium in acute myocardial infarction (Li et al. 2007): two single-zero studies.
li <- with(dat.li2007, data.frame(ai = ai, n1i = n1i, ci = ci, n2i = n2i, slab = paste(study, year)))

## Beta blockers (Yusuf et al. 1985): several tables, with double zeros; incomplete rows dropped.
yusuf <- function(tab) {
  y <- dat.yusuf1985[dat.yusuf1985$table == tab, ]
  y <- y[complete.cases(y[c("ai", "n1i", "ci", "n2i")]), ]
  data.frame(ai = y$ai, n1i = y$n1i, ci = y$ci, n2i = y$n2i, slab = y$trial)
}

## Hand-made: double zero without events (1), double zero with only events (5), single zeros (3, 4).
zeros <- data.frame(ai = c(0, 3, 0, 5, 8, 2), n1i = c(10, 20, 15, 25, 8, 30),
                    ci = c(0, 1, 2, 0, 6, 4), n2i = c(12, 18, 15, 24, 6, 28),
                    slab = c("A", "B", "C", "D", "E", "F"))

## Hand-made: one study with an empty first arm (n1i = 0).
emptyarm <- data.frame(ai = c(0, 4, 6, 2), n1i = c(0, 30, 40, 25), ci = c(3, 2, 5, 6), n2i = c(20, 30, 40, 25),
                       slab = c("Empty", "B", "C", "D"))

## Hand-made failures: no events at all in group 1 (MH OR/RR undefined); a study with no participants.
noev1 <- data.frame(ai = c(0, 0, 0), n1i = c(10, 20, 30), ci = c(1, 3, 2), n2i = c(10, 20, 30),
                    slab = c("A", "B", "C"))
zerotot <- data.frame(ai = c(2, 0, 5), n1i = c(20, 0, 30), ci = c(4, 0, 3), n2i = c(20, 0, 30),
                      slab = c("A", "Empty", "C"))
noevents <- data.frame(ai = c(0, 0), n1i = c(10, 20), ci = c(0, 0), n2i = c(12, 18), slab = c("A", "B"))

## ---------------------------------------------------------------------------------------------------------
## Cases
## ---------------------------------------------------------------------------------------------------------

add_all("bcg", "dat.bcg", bcg)
add_all("bcg_level90", "dat.bcg", bcg, list(level = 0.90))
add_case("bcg_MH_OR_nocorrect", "dat.bcg", bcg, "rma.mh", "OR", list(correct = FALSE))
add_case("bcg_MH_RD_gr", "dat.bcg", bcg, "rma.mh", "RD", list(mh_rd_variance = "gr"))
add_all("bcg_k2", "dat.bcg[1:2, ]", bcg[1:2, ])
add_all("bcg_k1", "dat.bcg[1, ]", bcg[1, ])

add_all("niel", "dat.nielweise2007", niel)
add_all("niel_drop00F", "dat.nielweise2007", niel, list(drop00 = FALSE))
add_all("niel_all025", "dat.nielweise2007", niel, list(add = 0.25, to = "all"))
add_all("niel_if0all", "dat.nielweise2007", niel, list(to = "if0all"))
add_all("niel_none", "dat.nielweise2007", niel, list(to = "none"))
add_all("niel_add0", "dat.nielweise2007", niel, list(add = 0))
add_all("niel_mhcorr", "dat.nielweise2007", niel, list(add = c(0.5, 0.5), to = c("only0", "only0")))
add_all("niel_mhall", "dat.nielweise2007", niel, list(add = c(0.5, 0.5), to = c("only0", "all"),
                                                      drop00 = c(TRUE, TRUE)))
add_all("niel_drop00TT", "dat.nielweise2007", niel, list(drop00 = c(TRUE, TRUE)))
add_case("niel_MH_OR_nocorrect", "dat.nielweise2007", niel, "rma.mh", "OR", list(correct = FALSE))
add_case("niel_MH_RD_gr", "dat.nielweise2007", niel, "rma.mh", "RD", list(mh_rd_variance = "gr"))

add_all("li", "dat.li2007", li)
add_case("li_MH_RD_gr", "dat.li2007", li, "rma.mh", "RD", list(mh_rd_variance = "gr"))
add_all("li_level99", "dat.li2007", li, list(level = 0.99))

for (tab in c("6", "9", "10", "11", "12a", "12b")) {
  add_all(paste0("yusuf", tab), sprintf("dat.yusuf1985[table == '%s', complete rows]", tab), yusuf(tab))
}
add_all("yusuf9_drop00F", "dat.yusuf1985[table == '9', complete rows]", yusuf("9"), list(drop00 = FALSE))

add_all("zeros", "hand-made", zeros)
add_all("zeros_drop00F", "hand-made", zeros, list(drop00 = FALSE))
add_all("zeros_none", "hand-made", zeros, list(to = "none", drop00 = FALSE))
add_all("zeros_mhcorr", "hand-made", zeros, list(add = c(0.5, 0.5), to = c("only0", "only0"),
                                                 drop00 = c(TRUE, FALSE)))
add_case("zeros_MH_RD_gr", "hand-made", zeros, "rma.mh", "RD", list(mh_rd_variance = "gr"))
add_case("zeros_MH_RD_gr_drop00F", "hand-made", zeros, "rma.mh", "RD",
         list(drop00 = FALSE, mh_rd_variance = "gr"))
add_all("zeros_k2", "hand-made[2:3, ]", zeros[2:3, ])

add_all("emptyarm", "hand-made", emptyarm)
add_case("emptyarm_MH_RD_gr", "hand-made", emptyarm, "rma.mh", "RD", list(mh_rd_variance = "gr"))

add_all("noev1", "hand-made", noev1)
add_all("zerotot", "hand-made", zerotot)
add_all("noevents", "hand-made", noevents)

write_json(
  list(
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    generated = format(Sys.time(), "%Y-%m-%d"),
    script = "tests/reference/binary.R",
    cases = cases
  ),
  "binary.json", auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE
)
cat(sprintf("binary.json: %d cases\n", length(cases)))
