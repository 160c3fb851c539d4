# Reference numbers for tests/test_conversions.py (mgmeta.conversions).
#
# Run from this folder:  Rscript conversions.R   -> writes conversions.json
#
# Blocks:
#   escalc_contrasts  metafor::escalc() + summary() on 2x2 tables and arm means/SDs: yi, vi and the
#                     95 % Wald CI, so that mgmeta.conversions.contrast_from_ci(CI) must give back yi, vi.
#   quantiles         qnorm()/qt() based hand computations (sd_from_ci, se_from_ci, se_from_pvalue).
#   conv_fivenum      metafor::conv.fivenum() (metafor >= 4.0) for the median -> mean/SD methods and the
#                     skewness test.
#   conv_wald         metafor::conv.wald() (metafor >= 4.0) for CI / p-value -> yi, vi.
#
# metafor 3.8 (Debian bookworm) has neither conv.fivenum() nor conv.wald(). When they are missing, the
# script keeps the conv_fivenum / conv_wald blocks of the existing conversions.json unchanged (each block
# records the metafor version that computed it) and recomputes the rest.

suppressPackageStartupMessages(library(metafor))
library(jsonlite)

out_file <- "conversions.json"
old <- if (file.exists(out_file)) fromJSON(out_file, simplifyVector = FALSE) else list()
mf_version <- as.character(packageVersion("metafor"))

block <- function(calls, results, note = NULL) {
  out <- list(metafor_version = mf_version, r_version = R.version.string, calls = calls, results = results)
  if (!is.null(note)) out$note <- note
  out
}

# ------------------------------------------------------------------------------------------------
# escalc: contrasts and their Wald CIs
# ------------------------------------------------------------------------------------------------

# 2x2 tables: Cete 2005 rescue (Mg 16/36 vs placebo 26/40, metoclopramide 14/37 vs placebo),
# Pfaffenrath 1996 responders (10/35 vs 10/34), and the first three trials of dat.bcg.
tabs <- data.frame(
  label = c("Cete 2005 Mg", "Cete 2005 MET", "Pfaffenrath 1996", "BCG 1", "BCG 2", "BCG 3"),
  ai = c(16, 14, 10, 4, 6, 3), n1i = c(36, 37, 35, 123, 306, 231),
  ci = c(26, 26, 10, 11, 29, 11), n2i = c(40, 40, 34, 139, 303, 220)
)
bin <- list()
for (m in c("OR", "RR", "RD")) {
  es <- escalc(measure = m, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = tabs)
  s <- summary(es)
  bin[[m]] <- list(label = tabs$label, yi = as.numeric(es$yi), vi = as.numeric(es$vi),
                   ci_lb = as.numeric(s$ci.lb), ci_ub = as.numeric(s$ci.ub))
}
# arm means/SDs: Cete 2005 baseline VAS (Mg vs placebo, MET vs placebo), Karimi 2021 attacks
# (as if parallel), and a small made-up pair.
arms <- data.frame(
  label = c("Cete 2005 Mg", "Cete 2005 MET", "Karimi 2021", "toy"),
  m1i = c(70, 73, 1.72, 10.5), sd1i = c(22, 25, 1.18, 3.1), n1i = c(36, 37, 63, 12),
  m2i = c(69, 69, 1.27, 8.0), sd2i = c(19, 19, 1.27, 2.4), n2i = c(40, 40, 63, 11)
)
es <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = arms)
s <- summary(es)
md <- list(label = arms$label, yi = as.numeric(es$yi), vi = as.numeric(es$vi),
           ci_lb = as.numeric(s$ci.lb), ci_ub = as.numeric(s$ci.ub))

escalc_contrasts <- block(
  calls = c(
    "escalc(measure=m, ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=tabs) for m in OR, RR, RD; summary() for ci.lb/ci.ub",
    "escalc(measure='MD', m1i, sd1i, n1i, m2i, sd2i, n2i, data=arms); summary() for ci.lb/ci.ub",
    "ratio measures: yi, vi, ci.lb, ci.ub on the log scale"
  ),
  results = list(tables = as.list(tabs), arms = as.list(arms), OR = bin$OR, RR = bin$RR, RD = bin$RD, MD = md)
)

# ------------------------------------------------------------------------------------------------
# quantile-based hand computations
# ------------------------------------------------------------------------------------------------

ci_cases <- data.frame(lower = c(3.12, -2, 10.2, 0.8), upper = c(3.55, 34, 14.9, 1.1),
                       n = c(25, 44, 12, 150))
sd_t <- sqrt(ci_cases$n) * (ci_cases$upper - ci_cases$lower) / (2 * qt(0.975, ci_cases$n - 1))
sd_z <- sqrt(ci_cases$n) * (ci_cases$upper - ci_cases$lower) / (2 * qnorm(0.975))
sd_t90 <- sqrt(ci_cases$n) * (ci_cases$upper - ci_cases$lower) / (2 * qt(0.95, ci_cases$n - 1))

ratio_ci <- data.frame(lower = c(0.5, 0.31, 1.02), upper = c(2.0, 0.93, 3.75))
se_log <- (log(ratio_ci$upper) - log(ratio_ci$lower)) / (2 * qnorm(0.975))
se_log99 <- (log(ratio_ci$upper) - log(ratio_ci$lower)) / (2 * qnorm(0.995))

pv <- data.frame(estimate = c(0.65, 1.8, 16, -3.2), pvalue = c(0.04, 0.001, 0.08, 0.5),
                 log = c(TRUE, TRUE, FALSE, FALSE), df = c(NA, NA, 42, 20))
theta <- pv$estimate
theta[pv$log] <- log(pv$estimate[pv$log])
se_p_z <- abs(theta) / qnorm(1 - pv$pvalue / 2)
se_p_t <- abs(theta) / qt(1 - pv$pvalue / 2, ifelse(is.na(pv$df), 1, pv$df))
se_p_t[is.na(pv$df)] <- NA

quantiles <- list(
  r_version = R.version.string,
  calls = c(
    "sd_t = sqrt(n) * (upper - lower) / (2 * qt(0.975, n - 1))",
    "sd_z = sqrt(n) * (upper - lower) / (2 * qnorm(0.975))",
    "sd_t90 = sqrt(n) * (upper - lower) / (2 * qt(0.95, n - 1))",
    "se_log = (log(upper) - log(lower)) / (2 * qnorm(0.975)); se_log99 with qnorm(0.995)",
    "se_p_z = abs(theta) / qnorm(1 - p/2); se_p_t = abs(theta) / qt(1 - p/2, df); theta = log(estimate) if log"
  ),
  results = list(
    sd_from_ci = c(as.list(ci_cases), list(sd_t = sd_t, sd_z = sd_z, sd_t90 = sd_t90)),
    se_from_ci_log = c(as.list(ratio_ci), list(se = se_log, se99 = se_log99)),
    se_from_pvalue = c(as.list(pv), list(se_z = se_p_z, se_t = se_p_t))
  )
)

# ------------------------------------------------------------------------------------------------
# conv.fivenum (metafor >= 4.0) and conv.wald (metafor >= 4.0)
# ------------------------------------------------------------------------------------------------

if (exists("conv.fivenum")) {
  # S1 rows have q1/q3 NA, S2 rows min/max NA, S3 rows everything. The first three rows are the
  # example of metafor's help page; Kandil 2021 (Mg: median 4, IQR 2-6, n 61) and Baratloo 2017
  # (Mg at 1 h: median 2, IQR 2 given as a width) are migraine trials.
  five <- data.frame(
    case   = c("S1", "S2", "S3", "S1", "S1", "S1", "S1", "S1", "S2", "S2", "S2", "S2", "S3", "S3", "S3", "S3", "S3"),
    min    = c(2, NA, 2, 0, 10, 1, -5, 3, NA, NA, NA, NA, 0, 1, 12, -3, 0.5),
    q1     = c(NA, 4, 4, NA, NA, NA, NA, NA, 2, 1, 30, -1, 2, 2, 20, -1, 1.2),
    median = c(6, 6, 6, 3, 25, 5, 0, 4, 4, 2, 33, 0.5, 3, 4, 22, 0, 1.9),
    q3     = c(NA, 10, 10, NA, NA, NA, NA, NA, 6, 3, 37, 2, 5, 7, 25, 1.5, 2.6),
    max    = c(14, NA, 14, 10, 40, 9, 6, 5, NA, NA, NA, NA, 9, 15, 31, 4, 4.4),
    n      = c(20, 20, 20, 5, 12, 30, 80, 500, 61, 35, 8, 150, 10, 20, 47, 100, 1000)
  )
  run <- function(method) {
    r <- conv.fivenum(min = min, q1 = q1, median = median, q3 = q3, max = max, n = n, data = five,
                      method = method, test = FALSE)
    list(mean = as.numeric(r$mean), sd = as.numeric(r$sd))
  }
  lws <- conv.fivenum(min = min, q1 = q1, median = median, q3 = q3, max = max, n = n, data = five,
                      method = "luo/wan/shi", test = FALSE)
  conv_fivenum <- block(
    calls = c(
      "conv.fivenum(min=min, q1=q1, median=median, q3=q3, max=max, n=n, data=five, method=M, test=FALSE)",
      "for M in 'luo/wan/shi', 'wan2014', 'hozo2005'; dist='norm' (default)",
      "skew_tval, skew_crit, skew_sig: attributes tval, crit, sig of the 'mean' column (method 'luo/wan/shi')"
    ),
    results = list(
      data = as.list(five),
      luo_wan = list(mean = as.numeric(lws$mean), sd = as.numeric(lws$sd)),
      wan = run("wan2014"),
      hozo = run("hozo2005"),
      skew_tval = as.numeric(attr(lws$mean, "tval")),
      skew_crit = as.numeric(attr(lws$mean, "crit")),
      skew_sig = as.logical(attr(lws$mean, "sig"))
    ),
    note = paste("conv.fivenum() is in metafor >= 4.0 only; with an older metafor this script keeps",
                 "this block as recorded")
  )
} else {
  conv_fivenum <- old$conv_fivenum
  message("conv.fivenum() not available in metafor ", mf_version, ": keeping the recorded block")
}

if (exists("conv.wald")) {
  wald <- data.frame(
    label = c("OR", "RR", "HR", "MD Corbo 2001", "RD"),
    out = c(1.62, 0.65, 0.81, 16, -0.12), ci.lb = c(0.71, 0.45, 0.70, -2, -0.25),
    ci.ub = c(3.70, 0.94, 0.94, 34, 0.01), log = c(TRUE, TRUE, TRUE, FALSE, FALSE)
  )
  r_log <- conv.wald(out = out, ci.lb = ci.lb, ci.ub = ci.ub, data = wald[wald$log, ], transf = log)
  r_lin <- conv.wald(out = out, ci.lb = ci.lb, ci.ub = ci.ub, data = wald[!wald$log, ])
  pw <- data.frame(out = c(0.65, 1.8, 16, -3.2), pval = c(0.04, 0.001, 0.08, 0.5),
                   log = c(TRUE, TRUE, FALSE, FALSE))
  p_log <- conv.wald(out = out, pval = pval, data = pw[pw$log, ], transf = log)
  p_lin <- conv.wald(out = out, pval = pval, data = pw[!pw$log, ])
  conv_wald <- block(
    calls = c(
      "conv.wald(out=out, ci.lb=ci.lb, ci.ub=ci.ub, data=wald[wald$log, ], transf=log)",
      "conv.wald(out=out, ci.lb=ci.lb, ci.ub=ci.ub, data=wald[!wald$log, ])",
      "conv.wald(out=out, pval=pval, data=pw[pw$log, ], transf=log); conv.wald(out=out, pval=pval, data=pw[!pw$log, ])"
    ),
    results = list(
      ci = c(as.list(wald), list(yi = c(as.numeric(r_log$yi), as.numeric(r_lin$yi)),
                                 vi = c(as.numeric(r_log$vi), as.numeric(r_lin$vi)))),
      pvalue = c(as.list(pw), list(yi = c(as.numeric(p_log$yi), as.numeric(p_lin$yi)),
                                   vi = c(as.numeric(p_log$vi), as.numeric(p_lin$vi))))
    ),
    note = paste("conv.wald() is in metafor >= 4.0 only; with an older metafor this script keeps",
                 "this block as recorded")
  )
} else {
  conv_wald <- old$conv_wald
  message("conv.wald() not available in metafor ", mf_version, ": keeping the recorded block")
}

res <- list(
  r_version = R.version.string,
  metafor_version = mf_version,
  jsonlite_version = as.character(packageVersion("jsonlite")),
  generated = format(Sys.Date()),
  script = "tests/reference/conversions.R",
  note = paste("metafor_version is the version of the last run; each block records the metafor version",
               "that computed it (conv_fivenum and conv_wald need metafor >= 4.0)"),
  escalc_contrasts = escalc_contrasts,
  quantiles = quantiles,
  conv_fivenum = conv_fivenum,
  conv_wald = conv_wald
)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null", null = "null"), out_file)
message("wrote ", out_file)
