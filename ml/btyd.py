"""Buy-Till-You-Die baselines for non-contractual churn: BG/NBD and Gamma-Gamma.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") models when a
customer buys and when they silently stop; Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM
and CLV") models how much they spend per purchase. Times are in any unit the caller
chooses (Baton passes days); x counts repeat purchases (purchase days after the first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad_vec
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, log_expit, polygamma

MIN_CUSTOMERS = 20
MAX_ITERATIONS = 1000
# Log-parameters stay within [-15, 15]: exp(+-15) is far beyond any plausible value in any
# time unit, and the bounds keep a degenerate data set from running off to infinity.
LOG_BOUNDS = (-15.0, 15.0)

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class BGNBD:
    """Fitted BG/NBD: purchase rate ~ Gamma(r, alpha), drop-out probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def log_likelihood(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Log-likelihood of each customer's history (x, t_x, T) under these parameters."""
        x, t_x, T = _floats(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        repeat = x > 0
        xs = np.maximum(x, 1.0)  # keeps b + x - 1 > 0 where x == 0 (masked out below)
        shared = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
        alive = -(r + x) * np.log(alpha + T)
        gone = np.log(a) - np.log(b + xs - 1) - (r + x) * np.log(alpha + t_x)
        return shared + np.where(repeat, np.logaddexp(alive, gone), alive)

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Probability the customer has not dropped out by T (1 with no repeat purchase)."""
        x, t_x, T = _floats(x, t_x, T)
        xs = np.maximum(x, 1.0)
        log_odds_gone = (
            np.log(self.a)
            - np.log(self.b + xs - 1)
            + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
        )
        return np.where(x > 0, expit(-log_odds_gone), 1.0)

    def expected_purchases(
        self, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Expected number of purchases in (T, T + t] given the history (FHL 2005, eq. 10)."""
        t, x, t_x, T = _floats(t, x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        one_minus_z, z = (alpha + T) / (alpha + T + t), t / (alpha + T + t)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # Euler's transformation of (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z): the same value
            # without a huge 2F1 times a tiny power when x is large.
            tail = one_minus_z ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
            if_alive = np.array((a + b + x - 1) / (a - 1) * (1 - tail))
        # Where that is not finite (scipy's hyp2f1 fails near z = 1 with a large b, and a = 1
        # divides by zero), integrate over the drop-out probability instead.
        bad = ~np.isfinite(if_alive)
        if bad.any():
            if_alive[bad] = self._purchases_if_alive_by_quadrature(t[bad], x[bad], T[bad])
        return if_alive * self.p_alive(x, t_x, T)

    def p_no_purchase(
        self, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Probability of no purchase in (T, T + t]: the churn score for a horizon t.

        A customer alive at T who buys nothing cannot drop out, and their purchase rate
        given they are alive is Gamma(r + x, alpha + T).
        """
        x, t_x, T = _floats(x, t_x, T)
        alive = self.p_alive(x, t_x, T)
        silent_if_alive = ((self.alpha + T) / (self.alpha + T + t)) ** (self.r + x)
        return (1 - alive) + alive * silent_if_alive

    def purchase_rate_if_alive(self, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Expected purchases per time unit for a customer who stays: (r + x) / (alpha + T)."""
        x, T = _floats(x, T)
        return (self.r + x) / (self.alpha + T)

    def _purchases_if_alive_by_quadrature(
        self, t: np.ndarray, x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[(1 - (1 + p s)^-(r + x)) / p] for p ~ Beta(a, b + x), s = t / (alpha + T).

        Integrated over logit(p), centred and scaled per customer: there the integrand is
        smooth with exponential tails for any parameters, unlike the hypergeometric form.
        """
        k, b_x, s = self.r + x, self.b + x, t / (self.alpha + T)
        centre = np.log(self.a / b_x)
        scale = np.sqrt(polygamma(1, self.a) + polygamma(1, b_x))  # sd of logit(p)
        log_beta = betaln(self.a, b_x)

        def integrand(u: float) -> np.ndarray:
            y = centre + scale * u
            p = expit(y)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                per_p = np.where(p * s > 1e-12, -np.expm1(-k * np.log1p(p * s)) / p, k * s)
            density = np.exp(self.a * log_expit(y) + b_x * log_expit(-y) - log_beta)
            return per_p * density * scale

        return np.asarray(quad_vec(integrand, -np.inf, np.inf, epsrel=1e-10)[0])


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma: spend per purchase ~ Gamma(p, nu), nu ~ Gamma(q, v) per customer."""

    p: float
    q: float
    v: float

    def expected_average_value(self, x: np.ndarray, monetary_value: np.ndarray) -> np.ndarray:
        """Expected value of a future purchase: the customer's mean shrunk to the population's.

        Customers with no repeat purchase get the population mean p * v / (q - 1).
        """
        if self.q <= 1:
            raise ValueError(
                f"The fitted Gamma-Gamma has q = {self.q:.3g} <= 1, so the expected value of a "
                "purchase is undefined (infinite); the spend data is too heavy-tailed."
            )
        x, m = _floats(x, monetary_value)
        p, q, v = self.p, self.q, self.v
        m = np.where(x > 0, m, 0.0)  # x == 0: (v + 0) * p / (q - 1), the population mean
        return (v + m * x) * p / (p * x + q - 1)


def fit_bgnbd(
    x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None
) -> BGNBD:
    """Maximum-likelihood BG/NBD from each customer's repeat purchases x, last t_x and age T.

    weights count identical customers, so callers may pass unique (x, t_x, T) rows.
    """
    x, t_x, T = _floats(x, t_x, T)
    w = _weights(weights, x)
    invalid = ~((x >= 0) & (t_x >= 0) & (t_x <= T) & (T > 0) & np.isfinite(x + T))
    if invalid.any():
        raise ValueError(
            "BG/NBD needs finite x >= 0 and 0 <= t_x <= T with T > 0; this fails for "
            f"{invalid.sum()} of {x.size} customers."
        )
    _require(w.sum() >= MIN_CUSTOMERS, f"at least {MIN_CUSTOMERS} customers")
    _require(w[x > 0].sum() > 0, "at least one customer with a repeat purchase")
    # Terms that depend on x alone are summed once per distinct x, not once per customer.
    xv, x_index = np.unique(x, return_inverse=True)
    xw, n = np.bincount(x_index, weights=w), w.sum()
    repeat = x > 0
    xr, t_xr, Tr, wr = x[repeat], t_x[repeat], T[repeat], w[repeat]
    T0, w0 = T[~repeat], w[~repeat]

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        b_last = b + np.maximum(xv - 1, 0)  # b + x - 1, or b for x == 0 where it cancels
        alive = np.log(b + xr - 1) - (r + xr) * np.log(alpha + Tr)
        gone = np.log(a) - (r + xr) * np.log(alpha + t_xr)
        share_alive = expit(alive - gone)
        by_x = gammaln(r + xv) - gammaln(r) + gammaln(a + b) - gammaln(b) - gammaln(a + b + xv)
        ll = xw @ (by_x + gammaln(b_last)) + n * r * np.log(alpha)
        ll += wr @ np.logaddexp(alive, gone) - r * (w0 @ np.log(alpha + T0))
        log_age = share_alive * np.log(alpha + Tr) + (1 - share_alive) * np.log(alpha + t_xr)
        inv_age = share_alive / (alpha + Tr) + (1 - share_alive) / (alpha + t_xr)
        d_ab = digamma(a + b) - digamma(a + b + xv)
        d_r = xw @ (digamma(r + xv) - digamma(r)) + n * np.log(alpha)
        d_r -= wr @ log_age + w0 @ np.log(alpha + T0)
        d_alpha = n * r / alpha - wr @ ((r + xr) * inv_age) - r * (w0 @ (1 / (alpha + T0)))
        d_a = xw @ d_ab + wr @ (1 - share_alive) / a
        d_b = xw @ (d_ab + digamma(b_last) - digamma(b)) + wr @ (share_alive / (b + xr - 1))
        return -ll, -np.array([d_r, d_alpha, d_a, d_b]) * np.exp(log_params)

    rate = (w @ x) / (w @ T)
    start = np.log([1.0, 1.0 / rate, 1.0, 1.0])
    return BGNBD(*_maximise(objective, start, n, "BG/NBD"))


def fit_gamma_gamma(
    x: np.ndarray, monetary_value: np.ndarray, weights: np.ndarray | None = None
) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma on customers with repeat purchases (x > 0).

    monetary_value is the mean value of each customer's x repeat purchases (the first
    purchase left out, as in Fader, Hardie & Lee); customers with x == 0 are ignored.
    """
    x, m = _floats(x, monetary_value)
    w = _weights(weights, x)
    keep = x > 0
    x, m, w = x[keep], m[keep], w[keep]
    if np.any(~np.isfinite(m)) or np.any(m <= 0):
        raise ValueError(
            "Gamma-Gamma needs a positive average purchase value for every repeat customer; "
            "leave out customers whose repeat purchases net to zero or less (refunds)."
        )
    _require(w.sum() >= MIN_CUSTOMERS, f"at least {MIN_CUSTOMERS} customers with x > 0")
    log_m, log_x = np.log(m), np.log(x)

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(log_params)
        px, log_vmx = p * x, np.log(v + m * x)
        each = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        each += (px - 1) * log_m + px * log_x - (px + q) * log_vmx
        psi_pxq = digamma(px + q)
        d_p = w @ (x * (psi_pxq - digamma(px) + log_m + log_x - log_vmx))
        d_q = w @ (psi_pxq - digamma(q) + np.log(v) - log_vmx)
        d_v = w @ (q / v - (px + q) / (v + m * x))
        grad = np.array([d_p, d_q, d_v])
        return -(w @ each), -grad * np.exp(log_params)

    mean_m = (w @ m) / w.sum()
    start = np.log([1.0, 2.0, mean_m])  # q = 2 starts with a finite mean p * v / (q - 1)
    return GammaGamma(*_maximise(objective, start, w.sum(), "Gamma-Gamma"))


def _maximise(objective: Objective, start: np.ndarray, total: float, name: str) -> list[float]:
    """Minimise the negative log-likelihood per customer over log-parameters (L-BFGS-B)."""

    def per_customer(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = objective(log_params)
        return value / total, grad / total

    bounds, options = [LOG_BOUNDS] * len(start), {"maxiter": MAX_ITERATIONS}
    result = minimize(per_customer, start, jac=True, bounds=bounds, options=options)
    if not np.isfinite(result.fun) or result.nit >= MAX_ITERATIONS:
        raise RuntimeError(f"The {name} fit did not converge: {result.message}")
    return [float(value) for value in np.exp(result.x)]


def _floats(*arrays: float | np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays as float arrays of one common shape, so callers may pass lists or scalars."""
    return tuple(np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays)))


def _weights(weights: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    """Customer weights (counts of identical rows): ones by default, never negative."""
    if weights is None:
        return np.ones_like(like)
    w = np.broadcast_to(np.asarray(weights, dtype=float), like.shape)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and non-negative (counts of identical rows).")
    return w


def _require(condition: bool, what: str) -> None:
    """Raise a readable ValueError when the data is too thin to fit a model."""
    if not condition:
        raise ValueError(f"Too little data to fit: the model needs {what}.")
