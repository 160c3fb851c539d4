"""bayesian_meta_analysis: closed forms with tau fixed, independent quadrature, and a long MCMC run (slow)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

import mgmeta
from conftest import load_reference
from mgmeta.analyses import HalfCauchy, HalfNormal, Normal, PointMass, Uniform, bayesian_meta_analysis

DATA = load_reference("analyses.json")["datasets"]
Y = np.array(DATA["bcg_RR"]["yi"])
V = np.array(DATA["bcg_RR"]["vi"])
PRIORS = [HalfNormal(0.5), HalfCauchy(0.5), Uniform(3.0), HalfNormal(1.0)]


# --------------------------------------------------------------------------
# closed forms: tau fixed
# --------------------------------------------------------------------------

@pytest.mark.parametrize("tau0", [0.0, 0.3, 1.0])
def test_point_mass_flat_prior_is_the_fixed_tau2_fit(tau0):
    fit = bayesian_meta_analysis(Y, V, tau_prior=PointMass(tau0))
    ref = mgmeta.meta_analysis(Y, V, tau2=tau0 ** 2)
    assert fit.mu.mean == pytest.approx(ref.estimate, rel=1e-13)
    assert fit.mu.median == pytest.approx(ref.estimate, rel=1e-13)
    assert fit.mu.sd == pytest.approx(ref.se, rel=1e-13)
    assert fit.mu.ci_lower == pytest.approx(ref.ci_lower, rel=1e-13)
    assert fit.mu.ci_upper == pytest.approx(ref.ci_upper, rel=1e-13)
    assert fit.prediction.ci_lower == pytest.approx(ref.pi_lower, rel=1e-13)
    assert fit.prediction.ci_upper == pytest.approx(ref.pi_upper, rel=1e-13)
    assert fit.tau.mean == fit.tau.median == tau0 and fit.fixed_tau


def test_point_mass_normal_prior_is_conjugate():
    tau0, m0, s0 = 0.4, -0.2, 0.5
    fit = bayesian_meta_analysis(Y, V, tau_prior=PointMass(tau0), mu_prior=Normal(m0, s0), level=0.9)
    w = 1 / (V + tau0 ** 2)
    prec = w.sum() + 1 / s0 ** 2
    mean = (np.sum(w * Y) + m0 / s0 ** 2) / prec
    sd = math.sqrt(1 / prec)
    z = stats.norm.isf(0.05)
    assert fit.mu.mean == pytest.approx(mean, rel=1e-13)
    assert fit.mu.sd == pytest.approx(sd, rel=1e-13)
    assert fit.mu.ci_upper == pytest.approx(mean + z * sd, rel=1e-13)
    assert fit.prediction.sd == pytest.approx(math.sqrt(sd ** 2 + tau0 ** 2), rel=1e-13)
    assert fit.probability(0.0) == pytest.approx(stats.norm.cdf(0, mean, sd), rel=1e-12)


def test_a_very_tight_prior_approaches_the_point_mass():
    tight = bayesian_meta_analysis(Y, V, tau_prior=Uniform(1e-6))
    fixed = bayesian_meta_analysis(Y, V, tau_prior=PointMass(0.0))
    assert tight.mu.mean == pytest.approx(fixed.mu.mean, rel=1e-6)
    assert tight.mu.ci_upper == pytest.approx(fixed.mu.ci_upper, rel=1e-6)


# --------------------------------------------------------------------------
# independent quadrature (scipy.integrate.quad) of the same posterior
# --------------------------------------------------------------------------

def _log_post_tau(t, prior, mu_prior=None):
    d = V + t ** 2
    w = 1 / d
    if mu_prior is None:
        m = np.sum(w * Y) / np.sum(w)
        ll = -0.5 * np.sum(np.log(d)) - 0.5 * math.log(np.sum(w)) - 0.5 * np.sum(w * (Y - m) ** 2)
    else:
        # y ~ N(m0 1, D + s0² 11'): the marginal likelihood written out with the full covariance
        cov = np.diag(d) + mu_prior.sd ** 2
        r = Y - mu_prior.mean
        ll = -0.5 * np.linalg.slogdet(cov)[1] - 0.5 * r @ np.linalg.solve(cov, r)
    return float(prior.logpdf(t) + ll)


def _conditional_mu(t, mu_prior=None):
    w = 1 / (V + t ** 2)
    if mu_prior is None:
        return np.sum(w * Y) / np.sum(w), 1 / np.sum(w)
    prec = np.sum(w) + 1 / mu_prior.sd ** 2
    return (np.sum(w * Y) + mu_prior.mean / mu_prior.sd ** 2) / prec, 1 / prec


@pytest.mark.parametrize("prior", PRIORS, ids=str)
@pytest.mark.parametrize("mu_prior", [None, Normal(-0.5, 1.0)], ids=["flat", "normal"])
def test_against_independent_quadrature(prior, mu_prior):
    fit = bayesian_meta_analysis(Y, V, tau_prior=prior, mu_prior=mu_prior)
    upper = prior.upper if isinstance(prior, Uniform) else np.inf
    ref_max = max(_log_post_tau(t, prior, mu_prior) for t in np.linspace(0.01, 2, 50))

    def dens(t):
        return math.exp(_log_post_tau(t, prior, mu_prior) - ref_max)

    opts = dict(epsabs=0, epsrel=1e-11, limit=500)
    z = integrate.quad(dens, 0, 1, **opts)[0] + integrate.quad(dens, 1, upper, **opts)[0]

    def expect(f):
        g = lambda t: f(t) * dens(t) / z  # noqa: E731
        return integrate.quad(g, 0, 1, **opts)[0] + integrate.quad(g, 1, upper, **opts)[0]

    assert fit.tau.mean == pytest.approx(expect(lambda t: t), rel=1e-8)
    assert fit.mu.mean == pytest.approx(expect(lambda t: _conditional_mu(t, mu_prior)[0]), rel=1e-8)
    mu_var = expect(lambda t: _conditional_mu(t, mu_prior)[1] + _conditional_mu(t, mu_prior)[0] ** 2) - \
        fit.mu.mean ** 2
    assert fit.mu.sd == pytest.approx(math.sqrt(mu_var), rel=1e-7)
    # quantiles: the independent distribution functions at mgmeta's quantiles
    for q, p in ((fit.tau.median, 0.5), (fit.tau.ci_lower, 0.025), (fit.tau.ci_upper, 0.975)):
        assert integrate.quad(dens, 0, q, **opts)[0] / z == pytest.approx(p, abs=1e-9)

    def mu_cdf(x, pred=False):
        def f(t):
            m, s2 = _conditional_mu(t, mu_prior)
            return stats.norm.cdf(x, m, math.sqrt(s2 + (t ** 2 if pred else 0)))
        return expect(f)

    assert mu_cdf(fit.mu.median) == pytest.approx(0.5, abs=1e-9)
    assert mu_cdf(fit.mu.ci_upper) == pytest.approx(0.975, abs=1e-9)
    assert mu_cdf(fit.prediction.ci_lower, pred=True) == pytest.approx(0.025, abs=1e-9)
    # the densities integrate to 1
    assert integrate.quad(fit.tau_density, 0, upper, limit=500)[0] == pytest.approx(1, abs=1e-8)
    assert integrate.quad(fit.mu_density, -np.inf, np.inf, limit=500)[0] == pytest.approx(1, abs=1e-8)


def test_quadrature_converges_with_panels():
    a = bayesian_meta_analysis(Y, V, tau_prior=HalfCauchy(0.5), panels=100)
    b = bayesian_meta_analysis(Y, V, tau_prior=HalfCauchy(0.5), panels=2000)
    for q in ("mu", "tau", "prediction"):
        for f in ("mean", "sd", "median", "ci_lower", "ci_upper"):
            assert getattr(getattr(a, q), f) == pytest.approx(getattr(getattr(b, q), f), rel=1e-10)


def test_brute_force_grid():
    """A dense two-dimensional grid over (mu, tau) of the unnormalised joint posterior."""
    prior = HalfNormal(0.5)
    fit = bayesian_meta_analysis(Y, V, tau_prior=prior)
    tau = (np.arange(1500) + 0.5) * (3 / 1500)
    mu = np.linspace(-3, 2, 1501)
    d = V[None, None, :] + tau[:, None, None] ** 2
    ll = -0.5 * np.sum(np.log(d) + (Y - mu[None, :, None]) ** 2 / d, axis=-1)
    lp = ll + prior.logpdf(tau)[:, None]
    p = np.exp(lp - lp.max())
    p /= p.sum()
    assert np.sum(p.sum(0) * mu) == pytest.approx(fit.mu.mean, rel=1e-7)
    assert np.sum(p.sum(1) * tau) == pytest.approx(fit.tau.mean, rel=1e-6)
    cdf = np.cumsum(p.sum(0))
    assert np.interp(0.5, cdf, mu) == pytest.approx(fit.mu.median, abs=3e-3)


def test_small_k_and_heavy_tails():
    # k = 2 with a half-Cauchy prior: a heavy-tailed posterior of tau, still proper
    fit = bayesian_meta_analysis(Y[:2], V[:2], tau_prior="half-cauchy", tau_scale=1.0)
    assert fit.tau.ci_upper > fit.tau.median > fit.tau.ci_lower >= 0
    assert np.isfinite(fit.mu.sd)
    one = bayesian_meta_analysis(Y[:1], V[:1], tau_prior="half-normal", tau_scale=0.5)
    assert one.mu.median == pytest.approx(Y[0], rel=1e-9)


def test_inputs_and_presentation():
    res = mgmeta.meta_analysis(Y, V, labels=DATA["bcg_RR"]["labels"], measure="RR")
    fit = bayesian_meta_analysis(res)
    assert fit.labels == res.labels and fit.measure == "RR" and fit.k == 13
    assert isinstance(fit.tau_prior, HalfNormal) and fit.tau_prior.scale == 0.5
    assert list(fit.to_frame().index) == ["mu", "tau", "prediction"]
    assert "Bayesian random-effects meta-analysis" in str(fit)
    assert 0 < fit.probability(0.0, below=False) < fit.probability(0.0)
    same = bayesian_meta_analysis(Y, V, tau_prior="half-normal", tau_scale=0.5)
    assert same.mu.mean == fit.mu.mean
    assert bayesian_meta_analysis(Y, V, mu_prior=(0, 10)).mu_prior == Normal(0.0, 10.0)


def test_prior_errors():
    with pytest.raises(mgmeta.DataError, match="unknown tau_prior"):
        bayesian_meta_analysis(Y, V, tau_prior="gamma")
    with pytest.raises(mgmeta.DataError, match="tau_scale"):
        bayesian_meta_analysis(Y, V, tau_prior="half-normal", tau_scale=None)
    with pytest.raises(mgmeta.DataError, match="positive"):
        bayesian_meta_analysis(Y, V, tau_prior=HalfCauchy(-1))
    with pytest.raises(mgmeta.DataError, match="mu_prior"):
        bayesian_meta_analysis(Y, V, mu_prior="normal")
    with pytest.raises(mgmeta.DataError, match="mu_prior"):
        bayesian_meta_analysis(Y, V, mu_prior=Normal(0, 0))
    with pytest.raises(mgmeta.MgmetaError, match="point-mass"):
        bayesian_meta_analysis(Y, V, tau_prior=PointMass(0.2)).tau_density(0.1)


# --------------------------------------------------------------------------
# a long MCMC run (plain numpy), within Monte Carlo error
# --------------------------------------------------------------------------

@pytest.mark.slow
def test_against_a_long_mcmc_run():
    prior = HalfNormal(0.5)
    fit = bayesian_meta_analysis(Y, V, tau_prior=prior)
    rng = np.random.default_rng(20240611)
    chains, steps, burn, step = 400, 1300, 300, 0.6
    # random-walk Metropolis on log tau for the marginal posterior of tau (many chains as one array),
    # then mu | tau drawn exactly

    def lp(lt):
        t2 = np.exp(2 * lt)[:, None]
        d = V[None, :] + t2
        w = 1 / d
        m = (w * Y).sum(1) / w.sum(1)
        ll = -0.5 * np.log(d).sum(1) - 0.5 * np.log(w.sum(1)) - 0.5 * (w * (Y - m[:, None]) ** 2).sum(1)
        return prior.logpdf(np.exp(lt)) + ll + lt          # + Jacobian of the log transform

    logt = np.log(rng.uniform(0.1, 1.5, size=chains))
    cur = lp(logt)
    draws = np.empty((steps - burn, chains))
    for i in range(steps):
        new = logt + rng.normal(scale=step, size=chains)
        val = lp(new)
        accept = np.log(rng.uniform(size=chains)) < val - cur
        logt = np.where(accept, new, logt)
        cur = np.where(accept, val, cur)
        if i >= burn:
            draws[i - burn] = logt
    tau = np.exp(draws)                                       # (draws, chains)
    w = 1 / (V[None, None, :] + tau[..., None] ** 2)
    m = (w * Y).sum(-1) / w.sum(-1)
    mu = m + rng.normal(size=tau.shape) / np.sqrt(w.sum(-1))

    def mcse(x):                                              # between-chain standard error
        return x.mean(0).std(ddof=1) / math.sqrt(x.shape[1])

    assert abs(tau.mean() - fit.tau.mean) < 5 * mcse(tau)
    assert abs(mu.mean() - fit.mu.mean) < 5 * mcse(mu)
    for q, ref in ((0.5, fit.tau.median), (0.025, fit.tau.ci_lower), (0.975, fit.tau.ci_upper)):
        assert abs(np.mean(tau < ref) - q) < 5 * mcse((tau < ref).astype(float))
    for q, ref in ((0.5, fit.mu.median), (0.025, fit.mu.ci_lower), (0.975, fit.mu.ci_upper)):
        assert abs(np.mean(mu < ref) - q) < 5 * mcse((mu < ref).astype(float))
    theta = mu + rng.normal(size=tau.shape) * tau
    for q, ref in ((0.025, fit.prediction.ci_lower), (0.975, fit.prediction.ci_upper)):
        assert abs(np.mean(theta < ref) - q) < 5 * mcse((theta < ref).astype(float))
