## gosh.R -- reference numbers from R metafor for mgmeta.analyses.gosh (and the batched engine).
##
## Writes gosh.json (next to this script): metafor's gosh() on small data sets, every subset fitted,
## for every tau^2 method, so that the Python tests can compare all 2^k - 1 subset fits:
##   bcg7      first 7 studies of dat.bcg, log risk ratios (escalc "RR"), 127 subsets, methods
##             EE, DL, HE, SJ, HS, REML, ML, PM, EB
##   hack7     7 studies of dat.hackshaw1998 (rows 2, 3, 5, 8, 9, 12, 14) for which REML's Fisher scoring
##             does not converge on the full set (and on some subsets): metafor gives NA for those fits
## For each case: yi, vi, method, the R call, and gosh's res columns (k, QE, I2, H2, tau2, estimate; NA is
## written as null) with its incl matrix as 0/1 rows. metafor orders exhaustive subsets as
## expand.grid(FALSE/TRUE, ...) does: subset number s (1 .. 2^k - 1) holds study j (0-based) iff bit j of s.
##
## Regenerate with:   cd tests/reference && Rscript gosh.R      (needs metafor, metadat, jsonlite; ~10 s)
## The Python tests only read gosh.json.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

script_dir <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f) == 1) dirname(normalizePath(f)) else "."
})

arr <- function(x) I(unname(as.numeric(x)))

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)[1:7, ]
hack <- dat.hackshaw1998[c(2, 3, 5, 8, 9, 12, 14), ]

data_sets <- list(
  bcg7 = list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi),
              call = "escalc('RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)[1:7, ]",
              methods = c("EE", "DL", "HE", "SJ", "HS", "REML", "ML", "PM", "EB")),
  hack7 = list(yi = hack$yi, vi = hack$vi, call = "dat.hackshaw1998[c(2, 3, 5, 8, 9, 12, 14), c('yi', 'vi')]",
               methods = c("REML"))
)

cases <- list()
for (name in names(data_sets)) {
  d <- data_sets[[name]]
  for (method in d$methods) {
    ## the full model may fail (hack7, REML): gosh needs a fitted object, so fit it with more iterations
    ## and then ask gosh to refit the subsets with the default control settings
    full <- tryCatch(rma(d$yi, d$vi, method = method), error = function(e) NULL)
    converged_full <- !is.null(full)
    if (is.null(full)) full <- rma(d$yi, d$vi, method = method, control = list(maxiter = 1000))
    if (!converged_full) full$control <- list()
    g <- gosh(full, progbar = FALSE)
    res <- g$res
    cases[[length(cases) + 1]] <- list(
      id = paste(name, method, sep = "_"), dataset = name, data_call = d$call, method = method,
      call = sprintf("gosh(rma(yi, vi, method='%s'), progbar=FALSE)", method),
      full_model_converged = converged_full,
      yi = arr(d$yi), vi = arr(d$vi),
      k = arr(res$k), q = arr(res$QE), i2 = arr(res$I2), h2 = arr(res$H2),
      tau2 = if (is.null(res$tau2)) NULL else arr(res$tau2), estimate = arr(res$estimate),
      incl = unname(apply(g$incl, 1, function(r) I(as.integer(r)))) |> t() |> unname()
    )
  }
}

write_json(
  list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
       metadat_version = as.character(packageVersion("metadat")),
       jsonlite_version = as.character(packageVersion("jsonlite")),
       generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"), script = "tests/reference/gosh.R",
       cases = cases),
  file.path(script_dir, "gosh.json"),
  auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE
)
cat(sprintf("wrote %d GOSH cases to gosh.json\n", length(cases)))
