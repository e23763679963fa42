"""Reference schedules for scheduler option tests: diffusers' FlowMatchEulerDiscreteScheduler.set_timesteps
(0.40) restated with NumPy float32 in place of torch, and scipy's beta.ppf. Writes flow-match-options.json.
Run: python3 flow_match_reference.py"""
import json, math, os
import numpy as np
import scipy.stats

def make(cfg):
    c = dict(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False, base_shift=0.5, max_shift=1.15,
             invert_sigmas=False, shift_terminal=None, use_karras_sigmas=False, use_exponential_sigmas=False,
             use_beta_sigmas=False, time_shift_type="exponential")
    c.update(cfg)
    N = c["num_train_timesteps"]
    t = np.linspace(1, N, N, dtype=np.float32)[::-1].copy()
    s = t / np.float32(N)
    if not c["use_dynamic_shifting"]:
        s = np.float32(c["shift"]) * s / (np.float32(1) + np.float32(c["shift"] - 1) * s)
    c["sigma_min"] = float(s[-1]); c["sigma_max"] = float(s[0])
    return c

def time_shift(c, mu, sigma, t):
    if c["time_shift_type"] == "exponential":
        return math.exp(mu) / (math.exp(mu) + (1 / t - 1) ** sigma)
    return mu / (mu + (1 / t - 1) ** sigma)

def set_timesteps(c, n, mu=None, sigmas=None):
    N = c["num_train_timesteps"]
    if sigmas is None:
        ts = np.linspace(c["sigma_max"] * N, c["sigma_min"] * N, n)
        sigmas = ts / N
    else:
        sigmas = np.array(sigmas).astype(np.float32)
    if c["use_dynamic_shifting"]:
        sigmas = time_shift(c, mu, 1.0, sigmas)
    else:
        sigmas = c["shift"] * sigmas / (1 + (c["shift"] - 1) * sigmas)
    if c["shift_terminal"]:
        one_minus_z = 1 - sigmas
        scale = one_minus_z[-1] / (1 - c["shift_terminal"])
        sigmas = 1 - (one_minus_z / scale)
    lo, hi = float(sigmas[-1]), float(sigmas[0])
    if c["use_karras_sigmas"]:
        rho = 7.0
        ramp = np.linspace(0, 1, n)
        sigmas = (hi ** (1 / rho) + ramp * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho
    elif c["use_exponential_sigmas"]:
        sigmas = np.exp(np.linspace(math.log(hi), math.log(lo), n))
    elif c["use_beta_sigmas"]:
        sigmas = np.array([lo + ppf * (hi - lo) for ppf in [scipy.stats.beta.ppf(x, 0.6, 0.6) for x in 1 - np.linspace(0, 1, n)]])
    sigmas = np.asarray(sigmas).astype(np.float32)
    timesteps = sigmas * np.float32(N)
    if c["invert_sigmas"]:
        sigmas = np.float32(1.0) - sigmas
        timesteps = sigmas * np.float32(N)
        sigmas = np.concatenate([sigmas, np.ones(1, np.float32)])
    else:
        sigmas = np.concatenate([sigmas, np.zeros(1, np.float32)])
    return timesteps, sigmas

cases = [
    ("shift3", dict(shift=3.0), 12, {}),
    ("dynamic-exponential", dict(use_dynamic_shifting=True), 10, dict(mu=0.9)),
    ("dynamic-linear", dict(use_dynamic_shifting=True, time_shift_type="linear"), 10, dict(mu=1.7)),
    ("karras", dict(shift=5.0, use_karras_sigmas=True), 9, {}),
    ("exponential", dict(shift=5.0, use_exponential_sigmas=True), 9, {}),
    ("beta", dict(shift=5.0, use_beta_sigmas=True), 9, {}),
    ("terminal", dict(shift=5.0, shift_terminal=0.1), 8, {}),
    ("invert", dict(shift=2.0, invert_sigmas=True), 7, {}),
    ("custom-sigmas", dict(shift=5.0), 5, dict(sigmas=[1.0, 0.8, 0.55, 0.3, 0.1])),
    ("train-steps-500", dict(shift=5.0, num_train_timesteps=500), 6, {}),
]
out = []
for name, cfg, n, kw in cases:
    c = make(cfg)
    t, s = set_timesteps(c, n, **kw)
    out.append(dict(name=name, config=cfg, steps=n, options=kw, timesteps=[float(x) for x in t], sigmas=[float(x) for x in s]))
ppf = [[q, a, b, float(scipy.stats.beta.ppf(q, a, b))] for q in [1e-6, 0.01, 0.125, 0.3, 0.5, 0.77, 0.99, 1 - 1e-6] for a, b in [(0.6, 0.6), (2.0, 5.0), (0.5, 3.0)]]
json.dump(dict(schedules=out, beta_ppf=ppf), open(os.path.join(os.path.dirname(__file__), "flow-match-options.json"), "w"), indent=1)
