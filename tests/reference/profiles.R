# Reference numbers for mgmeta.profiles (issue 8), written to profiles.json.
#
# R meta is not packaged for Debian here, so every profile quantity is computed from the written-out
# formulas in base R; metafor 3.8 is used only for the REML tau² (rma(method = "REML")). The conventions
# (sources in src/mgmeta/profiles.csv):
#   revman5:          0.5 added to all cells of tables with a zero cell (also inside the MH estimate),
#                     double zeros dropped for OR/RR, RR from the corrected cells (n + 1), RD raw with the
#                     corrected variance; DL tau² from Q around the MH estimate; Wald z; no PI; I² from Q;
#                     SMD g = d (1 - 3/(4N - 9)), var = N/(n1 n2) + g²/(2 (N - 3.94)).
#   revman_web_2025:  REML; HKSJ (t, k-1 df); PI t(k-1) with the classic se; I² from tau²; Q around MH.
#   meta (8.x):       REML; Q around MH only with DL; Wald z; PI t(k-1); I² from Q; RR correction
#                     added to events and n only; SMD exact with the unbiased variance.
#   stata_metan:      as revman5, PI t(k-2).
# Run: cd tests/reference && Rscript profiles.R
suppressMessages(library(metafor))
library(jsonlite)

bcg <- dat.bcg
hand <- list(ai = c(0, 12, 0, 7, 20, 10, 5), bi = c(20, 28, 15, 8, 30, 0, 25),
             ci = c(0, 20, 4, 0, 25, 9, 9), di = c(22, 21, 11, 15, 26, 0, 22))
nor <- dat.normand1999

study_binary <- function(measure, a, b, c, d, rr_events = FALSE) {
  n1 <- a + b; n2 <- c + d
  drop <- if (measure == "OR") (a == 0 & c == 0) | (b == 0 & d == 0) else
          if (measure == "RR") (a == 0 & c == 0) else rep(FALSE, length(a))
  keep <- !drop
  inc <- ifelse(keep & (a == 0 | b == 0 | c == 0 | d == 0), 0.5, 0)
  A <- a + inc; B <- b + inc; C <- c + inc; D <- d + inc
  if (measure == "OR") {
    y <- log(A * D / (B * C)); v <- 1 / A + 1 / B + 1 / C + 1 / D
  } else if (measure == "RR" && !rr_events) {
    y <- log(A / (n1 + 2 * inc)) - log(C / (n2 + 2 * inc))
    v <- 1 / A - 1 / (n1 + 2 * inc) + 1 / C - 1 / (n2 + 2 * inc)
  } else if (measure == "RR") {
    allev <- a == n1 & c == n2
    y <- log(A / (n1 + inc)) - log(C / (n2 + inc))
    v <- 1 / (a + inc * !allev) - 1 / (n1 + inc) + 1 / (c + inc * !allev) - 1 / (n2 + inc)
  } else {
    y <- a / n1 - c / n2
    v <- A * B / (n1 + 2 * inc)^3 + C * D / (n2 + 2 * inc)^3
  }
  list(y = y[keep], v = v[keep], a = a[keep], b = b[keep], c = c[keep], d = d[keep], inc = inc[keep])
}

mh <- function(measure, s) {
  A <- s$a + s$inc; B <- s$b + s$inc; C <- s$c + s$inc; D <- s$d + s$inc
  N <- A + B + C + D; n1 <- A + B; n2 <- C + D
  if (measure == "OR") {
    R <- A * D / N; S <- B * C / N; P <- (A + D) / N; Q <- (B + C) / N
    est <- log(sum(R) / sum(S))
    var <- sum(P * R) / (2 * sum(R)^2) + sum(P * S + Q * R) / (2 * sum(R) * sum(S)) + sum(Q * S) / (2 * sum(S)^2)
    w <- B * C / N
  } else if (measure == "RR") {
    R <- A * n2 / N; S <- C * n1 / N
    est <- log(sum(R) / sum(S))
    var <- sum(n1 * n2 * (A + C) / N^2 - A * C / N) / (sum(R) * sum(S))
    w <- C * n1 / N
  } else {
    w <- n1 * n2 / N
    est <- sum(w * (s$a / (s$a + s$b) - s$c / (s$c + s$d))) / sum(w)
    var <- sum((A * B * n2^3 + C * D * n1^3) / (n1 * n2 * N^2)) / sum(w)^2
  }
  list(est = est, se = sqrt(var), w = 100 * w / sum(w))
}

smd <- function(kind) {
  n1 <- nor$n1i; n2 <- nor$n2i; N <- n1 + n2; m <- N - 2
  sp <- sqrt(((n1 - 1) * nor$sd1i^2 + (n2 - 1) * nor$sd2i^2) / m)
  d <- (nor$m1i - nor$m2i) / sp
  if (kind == "approx") {
    g <- d * (1 - 3 / (4 * N - 9)); v <- N / (n1 * n2) + g^2 / (2 * (N - 3.94))
  } else {
    J <- exp(lgamma(m / 2) - log(sqrt(m / 2)) - lgamma((m - 1) / 2))
    g <- J * d; v <- 1 / n1 + 1 / n2 + g^2 * (1 - (m - 2) / (m * J^2))
  }
  list(y = g, v = v)
}

iv_q <- function(y, v) { w <- 1 / v; sum(w * (y - sum(w * y) / sum(w))^2) }

random <- function(y, v, q, tau2, ci = "z", pi = "none", i2 = "q") {
  k <- length(y); w <- 1 / v; C <- sum(w) - sum(w^2) / sum(w)
  ws <- 1 / (v + tau2); mu <- sum(ws * y) / sum(ws); se0 <- sqrt(1 / sum(ws))
  if (ci == "hksj") {
    se <- sqrt(sum(ws * (y - mu)^2) / (k - 1) / sum(ws)); crit <- qt(0.975, k - 1)
    p <- 2 * pt(abs(mu / se), k - 1, lower.tail = FALSE)
  } else {
    se <- se0; crit <- qnorm(0.975); p <- 2 * pnorm(abs(mu / se), lower.tail = FALSE)
  }
  vt <- (k - 1) / C
  if (i2 == "q") { I2 <- max(0, 100 * (q - (k - 1)) / q); H2 <- q / (k - 1) }
  else { I2 <- 100 * tau2 / (tau2 + vt); H2 <- (tau2 + vt) / vt }
  pil <- piu <- NULL
  if (pi != "none") {
    df <- if (pi == "t_k1") k - 1 else k - 2
    h <- qt(0.975, df) * sqrt(se0^2 + tau2); pil <- mu - h; piu <- mu + h
  }
  list(estimate = mu, se = se, ci_lower = mu - crit * se, ci_upper = mu + crit * se, pvalue = p, tau2 = tau2,
       i2 = I2, h2 = H2, q = q, q_pvalue = pchisq(q, k - 1, lower.tail = FALSE), k = k,
       pi_lower = pil, pi_upper = piu)
}

dl <- function(q, v) { w <- 1 / v; k <- length(v); max(0, (q - (k - 1)) / (sum(w) - sum(w^2) / sum(w))) }
reml <- function(y, v) rma(y, v, method = "REML")$tau2

cases <- list()
add <- function(id, profile, measure, method, inputs, out, how) {
  out <- lapply(out, function(x) if (is.null(x)) NULL else unname(x))
  cases[[length(cases) + 1]] <<- list(id = id, profile = profile, measure = measure, method = method,
                                       inputs = inputs, out = out, how = how)
}
bin_in <- function(a, b, c, d) list(ai = a, bi = b, ci = c, di = d)

# RevMan 5, BCG, RR and OR, DerSimonian-Laird from the MH Q
for (meas in c("RR", "OR")) {
  s <- study_binary(meas, bcg$tpos, bcg$tneg, bcg$cpos, bcg$cneg)
  m <- mh(meas, s); q <- sum((s$y - m$est)^2 / s$v)
  add(paste0("bcg_", meas, "_revman5_DL"), "revman5", meas, "DL", bin_in(bcg$tpos, bcg$tneg, bcg$cpos, bcg$cneg),
      random(s$y, s$v, q, dl(q, s$v)), "tau2 = DL from Q around the MH estimate; IV pooling; z; I2 from Q")
  s2 <- s
  add(paste0("bcg_", meas, "_stata_metan_DL"), "stata_metan", meas, "DL",
      bin_in(bcg$tpos, bcg$tneg, bcg$cpos, bcg$cneg), random(s$y, s$v, q, dl(q, s$v), pi = "t_k2"),
      "as revman5, PI t(k-2)")
  tr <- reml(s$y, s$v)
  add(paste0("bcg_", meas, "_revman_web_2025_REML"), "revman_web_2025", meas, "REML",
      bin_in(bcg$tpos, bcg$tneg, bcg$cpos, bcg$cneg), random(s$y, s$v, q, tr, ci = "hksj", pi = "t_k1", i2 = "tau2"),
      "REML, HKSJ, PI t(k-1), I2 from tau2, Q around MH")
  add(paste0("bcg_", meas, "_meta_REML"), "meta", meas, "REML", bin_in(bcg$tpos, bcg$tneg, bcg$cpos, bcg$cneg),
      random(s$y, s$v, iv_q(s$y, s$v), tr, pi = "t_k1"), "REML, IV Q, I2 from Q, PI t(k-1)")
}

# RevMan 5 fixed effect (MH), BCG OR, hand-made OR and RD (zero cells)
fixed <- function(meas, a, b, c, d) {
  s <- study_binary(meas, a, b, c, d); m <- mh(meas, s)
  q <- sum((s$y - m$est)^2 / s$v); k <- length(s$y)
  list(estimate = m$est, se = m$se, ci_lower = m$est - qnorm(0.975) * m$se, ci_upper = m$est + qnorm(0.975) * m$se,
       pvalue = 2 * pnorm(abs(m$est / m$se), lower.tail = FALSE), tau2 = 0, i2 = max(0, 100 * (q - (k - 1)) / q),
       h2 = q / (k - 1), q = q, q_pvalue = pchisq(q, k - 1, lower.tail = FALSE), k = k, pi_lower = NULL,
       pi_upper = NULL)
}
add("bcg_OR_revman5_FE", "revman5", "OR", "FE", bin_in(bcg$tpos, bcg$tneg, bcg$cpos, bcg$cneg),
    fixed("OR", bcg$tpos, bcg$tneg, bcg$cpos, bcg$cneg), "MH OR with corrected tables; Q around MH")
add("hand_OR_revman5_FE", "revman5", "OR", "FE", bin_in(hand$ai, hand$bi, hand$ci, hand$di),
    fixed("OR", hand$ai, hand$bi, hand$ci, hand$di), "double zero and double full dropped; 0.5 inside MH")
add("hand_RD_revman5_FE", "revman5", "RD", "FE", bin_in(hand$ai, hand$bi, hand$ci, hand$di),
    fixed("RD", hand$ai, hand$bi, hand$ci, hand$di), "RD: all studies kept; Greenland-Robins variance")
s <- study_binary("OR", hand$ai, hand$bi, hand$ci, hand$di); m <- mh("OR", s); q <- sum((s$y - m$est)^2 / s$v)
add("hand_OR_revman5_DL", "revman5", "OR", "DL", bin_in(hand$ai, hand$bi, hand$ci, hand$di),
    random(s$y, s$v, q, dl(q, s$v)), "zero cells, DL from Q_MH")
s <- study_binary("RR", hand$ai, hand$bi, hand$ci, hand$di, rr_events = TRUE); m <- mh("RR", s)
q <- sum((s$y - m$est)^2 / s$v)
add("hand_RR_meta_DL", "meta", "RR", "DL", bin_in(hand$ai, hand$bi, hand$ci, hand$di),
    random(s$y, s$v, q, dl(q, s$v), pi = "t_k1"), "meta: RR.Cochrane = FALSE, Q.Cochrane with DL")
add("hand_RR_meta_REML", "meta", "RR", "REML", bin_in(hand$ai, hand$bi, hand$ci, hand$di),
    random(s$y, s$v, iv_q(s$y, s$v), reml(s$y, s$v), pi = "t_k1"), "meta: REML, IV Q, I2 from Q")

# SMD (dat.normand1999)
nin <- list(m1i = nor$m1i, sd1i = nor$sd1i, n1i = nor$n1i, m2i = nor$m2i, sd2i = nor$sd2i, n2i = nor$n2i)
s <- smd("approx"); q <- iv_q(s$y, s$v)
add("normand_SMD_revman5_DL", "revman5", "SMD", "DL", nin, random(s$y, s$v, q, dl(q, s$v)), "RevMan SMD")
s <- smd("exact"); q <- iv_q(s$y, s$v)
add("normand_SMD_meta_REML", "meta", "SMD", "REML", nin, random(s$y, s$v, q, reml(s$y, s$v), pi = "t_k1"),
    "meta: exact SMD, unbiased variance")

out <- list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
            jsonlite_version = as.character(packageVersion("jsonlite")), generated = as.character(Sys.Date()),
            script = "tests/reference/profiles.R",
            note = "base-R formulas of each profile's conventions; metafor only for the REML tau2",
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE), "profiles.json")
