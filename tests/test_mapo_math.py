"""Hand-checked tests for MAPO's pure maths (advantages, loss, filtering, weights, curriculum, KL)."""

from __future__ import annotations

import math

import pytest
import torch

from maple_bench.mapo.advantages import advantage_stats, compute_advantages, filtered_advantages
from maple_bench.mapo.batching import split_minibatches
from maple_bench.mapo.curriculum import dynamic_order, quotas, static_sizes, static_stage
from maple_bench.mapo.filtering import keep_mask, zero_variance_groups
from maple_bench.mapo.kl import k3
from maple_bench.mapo.loss import aggregate, clip_fractions, clipped_surrogate
from maple_bench.mapo.weights import (
    RewardWindow,
    adaptive_weights,
    beta_kl,
    difficulty,
    per_sample_weights,
)

T = torch.tensor


def close(a: torch.Tensor, b: list[float], tol: float = 1e-5) -> None:
    assert torch.allclose(a.double(), T(b, dtype=torch.float64), atol=tol), (a, b)


# ----------------------------------------------------------------------------- advantages
def test_global_advantage() -> None:
    # r = [1, 0, 0, 0]: mean 0.25; population var = (0.75^2 + 3 * 0.25^2) / 4 = 0.1875,
    # std = 0.4330127 -> A = 0.75 / 0.433 = 1.7320508 and -0.25 / 0.433 = -0.5773503
    a = compute_advantages(T([1.0, 0, 0, 0]), mode="global", eps=0.0)
    close(a, [1.7320508, -0.5773503, -0.5773503, -0.5773503])


def test_group_advantage_and_eps() -> None:
    # group 0: r = [1, 0], mean 0.5, std 0.5 -> [1, -1]
    # group 1: r = [1, 1], mean 1, std 0 -> 0 / (0 + eps) = 0, eps keeps it finite
    a = compute_advantages(T([1.0, 0, 1, 1]), mode="group", groups=T([0, 0, 1, 1]), eps=1e-6)
    close(a, [1.0, -1.0, 0.0, 0.0], tol=1e-4)


def test_stratum_advantage() -> None:
    # stratum 0: r = [1, 0, 1, 1], mean 0.75, std sqrt(0.75 * 0.25) = 0.4330127
    #   -> 0.25 / 0.433 = 0.5773503, -0.75 / 0.433 = -1.7320508
    # stratum 1: r = [0, 1], mean 0.5, std 0.5 -> [-1, 1]
    a = compute_advantages(
        T([1.0, 0, 1, 1, 0, 1]), mode="stratum", strata=T([0, 0, 0, 0, 1, 1]), eps=0.0
    )
    close(a, [0.5773503, -1.7320508, 0.5773503, 0.5773503, -1.0, 1.0])


def test_stratum_small_fallback_to_batch() -> None:
    # stratum 1 has one sample (< min_size 2): batch mean 2/3, batch std sqrt(2/9) = 0.4714045
    #   -> (1 - 2/3) / 0.4714045 = 0.7071068; stratum 0: [1, 0] -> [1, -1]
    a = compute_advantages(T([1.0, 0, 1]), mode="stratum", strata=T([0, 0, 1]), eps=0.0)
    close(a, [1.0, -1.0, 0.7071068])


def test_group_never_falls_back_to_batch() -> None:
    # groups keep their own statistics whatever min_size: a group of one has A = 0 (no signal);
    # before the fix G = 1 < min_size silently used the batch stats (mean 0.5, std 0.5 -> [1, -1])
    a = compute_advantages(T([1.0, 0]), mode="group", groups=T([0, 1]), eps=0.0, min_size=2)
    close(a, [0.0, 0.0])
    # group_stratum: the per-prompt mean never falls back, the stratum std may
    # groups [1, 0] and [1]; stratum 0 (all three rows) std over [1, 0, 1] = 0.4714045
    a = compute_advantages(
        T([1.0, 0, 1]),
        mode="group_stratum",
        groups=T([0, 0, 1]),
        strata=T([0, 0, 0]),
        eps=0.0,
        min_size=4,  # the stratum has 3 < 4 rows: batch std, here the same rows
    )
    close(a, [0.5 / 0.4714045, -0.5 / 0.4714045, 0.0])


def test_config_refuses_group_modes_without_groups() -> None:
    from maple_bench.mapo.config import TrainConfig

    with pytest.raises(ValueError, match="needs group_size >= 2"):
        TrainConfig(advantages="group", group_size=1)


def test_group_stratum_advantage() -> None:
    # per-prompt means [0.5, 0.5, 1, 1]; the one stratum's std over [1, 0, 1, 1] is 0.4330127
    #   -> 0.5 / 0.4330127 = 1.1547005
    a = compute_advantages(
        T([1.0, 0, 1, 1]),
        mode="group_stratum",
        groups=T([0, 0, 1, 1]),
        strata=T([0, 0, 0, 0]),
        eps=0.0,
    )
    close(a, [1.1547005, -1.1547005, 0.0, 0.0])


def test_stratum_differs_from_global_on_mixed_scales() -> None:
    # stratum 0 is easy (mean 0.75), stratum 1 hard (mean 0.25): globally the easy stratum's
    # failures look much worse than the hard stratum's; per stratum they are symmetric.
    r, s = T([1.0, 1, 1, 0, 0, 0, 0, 1]), T([0, 0, 0, 0, 1, 1, 1, 1])
    glob = compute_advantages(r, mode="global", eps=0.0)
    strat = compute_advantages(r, mode="stratum", strata=s, eps=0.0)
    close(glob, [1.0, 1, 1, -1, -1, -1, -1, 1])  # mean 0.5, std 0.5
    close(strat, [0.5773503] * 3 + [-1.7320508] + [-0.5773503] * 3 + [1.7320508])


def test_advantage_errors_and_stats() -> None:
    with pytest.raises(ValueError, match="valid: global, group"):
        compute_advantages(T([1.0]), mode="grop")
    with pytest.raises(ValueError, match="stratum"):
        compute_advantages(T([1.0]), mode="stratum")
    st = advantage_stats(T([1.0, -1.0]))
    assert st["adv_mean"] == 0.0 and st["adv_std"] == 1.0 and st["adv_max"] == 1.0


def test_filter_then_normalise_stratum() -> None:
    # 3 prompts of G = 2 in one stratum: rewards [1, 1 | 1, 0 | 0, 0]
    # normalising over all 6 first (mean 0.5, std 0.5) would give the dropped rows |A| = 1 each,
    # four units of signal thrown away; filtering first keeps group 1 only -> stats over [1, 0]:
    # mean 0.5, std 0.5 -> [1, -1], dropped rows 0
    r, g, st = T([1.0, 1, 1, 0, 0, 0]), T([0, 0, 1, 1, 2, 2]), T([0, 0, 0, 0, 0, 0])
    for filt in ("early", "late"):
        adv, keep = filtered_advantages(
            r, mode="stratum", filter=filt, groups=g, strata=st, eps=0.0
        )
        assert keep.tolist() == [False, False, True, True, False, False]
        close(adv, [0.0, 0.0, 1.0, -1.0, 0.0, 0.0])
    # an uneven case: rewards [1, 1 | 1, 0 | 1, 0 | 0, 1 | 1, 1]; kept groups 1..3 ->
    # kept rewards [1, 0, 1, 0, 0, 1]: mean 0.5, std 0.5 -> +-1, and the kept mean is exactly 0
    # (normalising over all 10 rows first: mean 0.7, std 0.4582576 -> kept mean -0.4364358)
    r = T([1.0, 1, 1, 0, 1, 0, 0, 1, 1, 1])
    g = torch.arange(5).repeat_interleave(2)
    adv, keep = filtered_advantages(r, mode="global", filter="early", groups=g, eps=0.0)
    close(adv, [0, 0, 1, -1, 1, -1, -1, 1, 0, 0])
    assert float(adv[keep].mean()) == 0.0
    old = compute_advantages(r, mode="global", eps=0.0)[keep]
    assert float(old.mean()) == pytest.approx(-0.4364358, abs=1e-6)
    # filter none: every row kept, same as plain compute_advantages
    adv, keep = filtered_advantages(r, mode="global", filter="none", groups=g, eps=0.0)
    assert keep.all() and torch.allclose(adv, compute_advantages(r, mode="global", eps=0.0))


def test_group_mode_unchanged_by_filtering() -> None:
    # per-group advantages of a zero-variance group are 0 anyway: filtering changes nothing
    r, g = T([1.0, 1, 1, 0, 0, 0]), T([0, 0, 1, 1, 2, 2])
    plain = compute_advantages(r, mode="group", groups=g)
    adv, _ = filtered_advantages(r, mode="group", filter="early", groups=g)
    assert torch.allclose(plain, adv, atol=1e-5)


def test_split_minibatches() -> None:
    rows = torch.arange(10)
    parts = split_minibatches(rows, 3, (0, 5, 1))
    assert [p.numel() for p in parts] == [4, 3, 3]
    assert sorted(torch.cat(parts).tolist()) == list(range(10))
    assert all(p.tolist() == sorted(p.tolist()) for p in parts)
    again = split_minibatches(rows, 3, (0, 5, 1))
    assert all(torch.equal(x, y) for x, y in zip(parts, again))  # seeded: same on every process
    other = split_minibatches(rows, 3, (0, 5, 2))
    assert any(not torch.equal(x, y) for x, y in zip(parts, other))
    assert split_minibatches(rows, 1, 0)[0] is not None
    assert torch.equal(split_minibatches(rows, 1, 0)[0], rows)
    assert [p.numel() for p in split_minibatches(torch.arange(2), 4, 0)] == [1, 1, 0, 0]
    with pytest.raises(ValueError, match=">= 1"):
        split_minibatches(rows, 0, 0)


# ----------------------------------------------------------------------------- loss
def test_clipped_surrogate_four_cases() -> None:
    # ratio = e with A = +1: clipped to 1 + eps_high = 1.28 -> loss -1.28 (clipped high)
    # ratio = e with A = -1: -min(-e, -1.28) = e = 2.7182818 (unclipped, gradient flows)
    # ratio = 1/e with A = -1: -min(-0.3679, -0.8) = 0.8 (clipped low)
    # ratio = 1/e with A = +1: -min(0.3679, 0.8) = -0.3678794
    old = torch.zeros(4, 1)
    logp = T([[1.0], [1.0], [-1.0], [-1.0]])
    out = clipped_surrogate(logp, old, T([1.0, -1.0, -1.0, 1.0]), eps_low=0.2, eps_high=0.28)
    close(out.loss.flatten(), [-1.28, math.e, 0.8, -math.exp(-1)])
    assert out.clipped_high.flatten().tolist() == [True, False, False, False]
    assert out.clipped_low.flatten().tolist() == [False, False, True, False]
    fr = clip_fractions(out, torch.ones(4, 1))
    assert fr == {"clip_low_count": 1.0, "clip_high_count": 1.0, "token_count": 4.0}


def test_surrogate_gradient_on_policy() -> None:
    # on-policy (ratio 1): d loss / d logp = -A, so the gradient is -A * grad log pi
    logp = torch.zeros(2, 1, requires_grad=True)
    out = clipped_surrogate(logp, logp.detach(), T([2.0, -0.5]))
    out.loss.sum().backward()
    close(logp.grad.flatten(), [-2.0, 0.5])


def test_aggregations_by_hand() -> None:
    per_tok = T([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = T([[1, 1, 1], [1, 0, 0]])
    # sample: means per completion (6/3 = 2, 4/1 = 4), summed 6, over N = 2 -> 3
    assert aggregate(per_tok, mask, mode="sample", num_samples=2, num_tokens=4, max_len=3) == 3.0
    # over a global N = 4 (the other half on another micro-batch) -> 1.5
    assert aggregate(per_tok, mask, mode="sample", num_samples=4, num_tokens=8, max_len=3) == 1.5
    # token: (6 + 4) / T = 10 / 4 = 2.5
    assert aggregate(per_tok, mask, mode="token", num_samples=2, num_tokens=4, max_len=3) == 2.5
    # constant: 10 / (N * L_max) = 10 / 6
    c = aggregate(per_tok, mask, mode="constant", num_samples=2, num_tokens=4, max_len=3)
    assert abs(float(c) - 10 / 6) < 1e-6
    # weights c = [2, 0]: sample -> (2 * 2 + 0 * 4) / 2 = 2
    w = aggregate(
        per_tok, mask, mode="sample", num_samples=2, num_tokens=4, max_len=3, weights=T([2.0, 0.0])
    )
    assert w == 2.0
    with pytest.raises(ValueError, match="valid: sample, token, constant"):
        aggregate(per_tok, mask, mode="seq", num_samples=2, num_tokens=4, max_len=3)


@pytest.mark.parametrize("mode", ["sample", "token", "constant"])
def test_micro_batches_sum_to_full_batch(mode: str) -> None:
    # normalising by the global counts makes the sum of micro-batch losses equal the full loss
    g = torch.Generator().manual_seed(0)
    per_tok = torch.rand(6, 4, generator=g)
    mask = (torch.rand(6, 4, generator=g) > 0.3).float()
    mask[:, 0] = 1
    kw = dict(mode=mode, num_samples=6, num_tokens=float(mask.sum()), max_len=4)
    full = aggregate(per_tok, mask, **kw)
    parts = aggregate(per_tok[:2], mask[:2], **kw) + aggregate(per_tok[2:], mask[2:], **kw)
    assert torch.allclose(full, parts)


# ----------------------------------------------------------------------------- filtering, KL
def test_zero_variance_filtering() -> None:
    # groups 0 (1, 1) and 2 (0, 0) are constant; group 1 (0, 1) has signal
    r, g = T([1.0, 1, 0, 1, 0, 0]), T([0, 0, 1, 1, 2, 2])
    assert zero_variance_groups(r, g).tolist() == [True, True, False, False, True, True]
    assert keep_mask(r, g, "early").tolist() == [False, False, True, True, False, False]
    assert keep_mask(r, g, "late").tolist() == keep_mask(r, g, "early").tolist()
    assert keep_mask(r, g, "none").all()
    with pytest.raises(ValueError, match="valid: none, early, late"):
        keep_mask(r, g, "sometimes")


def test_k3() -> None:
    # d = ref - logp = ln 2: 2 - ln 2 - 1 = 0.3068528; identical policies -> 0
    close(k3(T([0.0, 0.5]), T([math.log(2), 0.5])), [0.3068528, 0.0])


# ----------------------------------------------------------------------------- weights
def test_beta_kl_closed_form() -> None:
    # KL(Beta(1,1) || Beta(100,1)) = ln B(100,1) - ln B(1,1) + 99 (psi(2) - psi(1))
    #   = -ln 100 - 0 + 99 * 1 = 94.3948298
    assert abs(beta_kl(1, 1, 100, 1) - (99 - math.log(100))) < 1e-9
    assert abs(difficulty(0, 0) - 94.3948298) < 1e-6
    # KL(Beta(2,1) || Beta(1,1)) = -ln B(2,1) + psi(2) - psi(3) = ln 2 - 0.5 = 0.1931472
    assert abs(beta_kl(2, 1, 1, 1) - (math.log(2) - 0.5)) < 1e-9
    assert beta_kl(3, 4, 3, 4) == pytest.approx(0.0, abs=1e-12)
    # more successes -> closer to "nearly always right" -> easier
    assert difficulty(50, 0) < difficulty(25, 25) < difficulty(0, 50)


def test_adaptive_weights_by_hand() -> None:
    # D = {V: 1, A: 3}, mean D = 2, tau = 1: raw = e^0.5 = 1.6487213, e^1.5 = 4.4816891;
    # p = 1/2 each: sum p raw = 3.0652052 -> w = 0.5378828, 1.4621172 (inside [0.5, 2])
    w = adaptive_weights({"V": 1.0, "A": 3.0}, {"V": 0.5, "A": 0.5})
    assert w["V"] == pytest.approx(0.5378828, abs=1e-6)
    assert w["A"] == pytest.approx(1.4621172, abs=1e-6)
    # D = {V: 1, A: 9}: raw e^0.2 = 1.2214028, e^1.8 = 6.0496475 -> w = 0.3359632, 1.6640368;
    # V clipped to 0.5: sum p w = 1.0820184 -> w = 0.4620994, 1.5379006
    w = adaptive_weights({"V": 1.0, "A": 9.0}, {"V": 0.5, "A": 0.5})
    assert w["V"] == pytest.approx(0.4620994, abs=1e-6)
    assert w["A"] == pytest.approx(1.5379006, abs=1e-6)
    # the step-size invariant sum_M p_M w_M = 1 holds for unequal shares too
    shares = {"V": 0.2, "A": 0.3, "VAS": 0.5}
    w = adaptive_weights({"V": 5.0, "A": 50.0, "VAS": 90.0}, shares, tau=2.0)
    assert sum(shares[t] * w[t] for t in shares) == pytest.approx(1.0)
    assert w["VAS"] > w["A"] > w["V"]


def test_per_sample_weights() -> None:
    assert per_sample_weights(["V", "A"], {"V": 0.5, "A": 2.0}, mode="proportional").tolist() == [
        0.5,
        2.0,
    ]
    # balanced, no adaptive weights: N = 4, K = 2 strata; V: 4 / (2 * 3) = 2/3, A: 4 / (2 * 1) = 2
    b = per_sample_weights(["V", "V", "V", "A"], None, mode="balanced")
    close(b, [2 / 3, 2 / 3, 2 / 3, 2.0])
    # g_ma (the default): c = w_M N / |B_M|: V 4 / 3, A 4 / 1; with w = {V: 0.5, A: 2} -> 2/3, 8
    close(per_sample_weights(["V", "V", "V", "A"], None), [4 / 3, 4 / 3, 4 / 3, 4.0])
    close(
        per_sample_weights(["V", "V", "V", "A"], {"V": 0.5, "A": 2.0}), [2 / 3, 2 / 3, 2 / 3, 8.0]
    )
    # keep: dropped rows get 0 and are not counted: kept V, V, A -> N = 3, V 3/2, A 3/1
    close(
        per_sample_weights(["V", "V", "V", "A"], None, keep=[True, False, True, True]),
        [1.5, 0.0, 1.5, 3.0],
    )
    close(per_sample_weights(["V", "A"], None, keep=[False, False]), [0.0, 0.0])
    with pytest.raises(ValueError, match="valid: g_ma, balanced, proportional"):
        per_sample_weights(["V"], None, mode="even")


def test_reward_window_state_round_trip() -> None:
    win = RewardWindow(size=3)
    win.update(["V", "V", "V", "V", "A"], [1, 0, 1, 1, 0])
    assert win.counts("V") == (2.0, 1.0)  # window of 3 keeps [0, 1, 1]
    again = RewardWindow()
    again.load_state_dict(win.state_dict())
    assert again.counts("V") == (2.0, 1.0) and again.counts("A") == (0.0, 1.0)
    d = again.difficulties(["V", "A", "S"])
    assert d["S"] == pytest.approx(94.3948298, abs=1e-6)  # no data -> prior Beta(1, 1)
    assert d["A"] > d["V"]


# ----------------------------------------------------------------------------- curriculum
def test_curriculum() -> None:
    assert [static_stage(p) for p in (0.0, 0.4, 0.9)] == [0, 1, 2]
    assert static_sizes(1) == (1, 2) and static_sizes(1, cumulative=False) == (2,)
    with pytest.raises(ValueError, match="increasing"):
        static_stage(0.5, (0.7, 0.2))
    assert dynamic_order({"V": 1.0, "A": 3.0, "S": 1.0}, ["V", "A", "S"]) == ["A", "V", "S"]
    # 5 * [1/4, 3/4] = [1.25, 3.75] -> floors [1, 3], the last slot to the larger remainder
    assert quotas({"V": 1.0, "A": 3.0}, 5, ["V", "A"]) == {"V": 1, "A": 4}


# ----------------------------------------------------------------------------- the estimator
@pytest.mark.parametrize("mode", ["g_ma", "proportional", "balanced"])
def test_stratified_estimator_matches_g_ma(mode: str) -> None:
    """Autograd of our loss equals a direct evaluation of g_MA on a tiny softmax policy.

    Policy: pi(a | x) = softmax(theta_x), 3 options, 4 prompts, G = 3. With ratio 1 (on-policy)
    -grad loss = sum_M wt_M (1/|B_M|) sum_{j in B_M} A_j^(M) grad log pi(y_j | x_j), where
    grad_theta_x log pi(a | x) = onehot(a) - pi(. | x), and wt_M = w_M (g_ma: ARCHITECTURE
    section 4's formula), p_M w_M (proportional) or w_M / K (balanced).
    """
    g = torch.Generator().manual_seed(3)
    theta = torch.randn(4, 3, generator=g, requires_grad=True)
    prompt_tag = ["V", "V", "VA", "S"]
    groups = torch.arange(4).repeat_interleave(3)
    actions = torch.randint(0, 3, (12,), generator=g)
    rewards = (actions == 0).float()
    tags = [prompt_tag[i] for i in groups.tolist()]
    sid = {"V": 0, "VA": 1, "S": 2}
    strata = T([sid[t] for t in tags])
    adv = compute_advantages(rewards, mode="stratum", strata=strata, min_size=2)
    w = {"V": 0.7, "VA": 1.6, "S": 1.1}

    logp = torch.log_softmax(theta, -1)[groups, actions].unsqueeze(1)
    out = clipped_surrogate(logp, logp.detach(), adv)
    c = per_sample_weights(tags, w, mode=mode)
    loss = aggregate(
        out.loss,
        torch.ones(12, 1),
        mode="sample",
        num_samples=12,
        num_tokens=12,
        max_len=1,
        weights=c,
    )
    loss.backward()

    probs = torch.softmax(theta.detach(), -1)
    direct = torch.zeros(4, 3)
    for m in sid:
        members = [j for j in range(12) if tags[j] == m]
        p_m = len(members) / 12
        wt = {"g_ma": w[m], "proportional": p_m * w[m], "balanced": w[m] / len(sid)}[mode]
        for j in members:
            x, a = int(groups[j]), int(actions[j])
            grad_logp = -probs[x].clone()
            grad_logp[a] += 1.0
            direct[x] += wt / len(members) * adv[j] * grad_logp
    assert torch.allclose(-theta.grad, direct, atol=1e-6)


def test_g_ma_by_hand() -> None:
    """Two strata, one parameter per row: the gradient of row j is -c_j A_j / N by hand.

    Strata V (3 kept rows) and A (1 kept row), w = 1: g_MA = mean_V + mean_A, so each V row
    weighs 1/3 and the A row 1: with A_j = 1 everywhere, d loss / d logp_j = -[1/3, 1/3, 1/3, 1].
    """
    logp = torch.zeros(4, 1, requires_grad=True)
    out = clipped_surrogate(logp, logp.detach(), T([1.0, 1.0, 1.0, 1.0]))
    c = per_sample_weights(["V", "V", "V", "A"], None)
    aggregate(
        out.loss, torch.ones(4, 1), mode="sample", num_samples=4, num_tokens=4, max_len=1, weights=c
    ).backward()
    close(logp.grad.flatten(), [-1 / 3, -1 / 3, -1 / 3, -1.0])


def test_rollout_plan_weights_from_loss_rows_then_window_update() -> None:
    from maple_bench.mapo.config import TrainConfig
    from maple_bench.mapo.plan import rollout_plan

    cfg = TrainConfig(advantages="global", filter="early", adaptive_weights=True)
    # group 0 (V) all 1 -> filtered; groups 1 (V) and 2 (A) mixed -> kept
    rewards = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    names = ["V", "V", "V", "V", "A", "A"]
    groups = torch.tensor([0, 0, 1, 1, 2, 2])
    window = RewardWindow(8)
    drop = torch.tensor([False, False, False, False, False, True])
    plan = rollout_plan(
        cfg,
        rewards,
        names,
        groups=groups,
        strata=torch.tensor([0, 0, 0, 0, 1, 1]),
        window=window,
        drop=drop,
    )
    assert plan.keep.tolist() == [False, False, True, True, True, True]
    assert plan.loss.tolist() == [False, False, True, True, True, False]
    # loss rows: V twice, A once -> shares 2/3, 1/3; both windows empty -> equal D -> w = 1
    assert plan.weights == pytest.approx({"V": 1.0, "A": 1.0})
    # the window saw every row, filtered or dropped
    assert window.counts("V") == (3.0, 1.0) and window.counts("A") == (1.0, 1.0)


def test_curriculum_plan_static_and_dynamic() -> None:
    from maple_bench.mapo.config import TrainConfig
    from maple_bench.mapo.plan import curriculum_plan

    window = RewardWindow(8)
    window.update(["V", "V", "A", "A"], [1.0, 1.0, 0.0, 0.0])  # A is harder
    static = TrainConfig(curriculum="static")
    allowed, w, order = curriculum_plan(
        static, progress=0.0, order=["V", "A"], counts={"V": 3, "A": 1}, window=window
    )
    assert allowed == {"V", "A", "S"} and w is None and order is None
    dynamic = TrainConfig(curriculum="dynamic", sampler="stratified")
    allowed, w, order = curriculum_plan(
        dynamic, progress=0.0, order=["V", "A"], counts={"V": 3, "A": 1}, window=window
    )
    assert allowed is None and list(order or ()) == ["A", "V"]
    assert (
        w is not None and w["A"] / 0.25 > w["V"] / 0.75
    )  # the harder tag gets more than its share
    assert 0.75 * (w["V"] / 0.75) + 0.25 * (w["A"] / 0.25) == pytest.approx(1.0)
