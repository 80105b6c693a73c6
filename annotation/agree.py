"""Inter-annotator agreement on RMT labels: Cohen's kappa, Fleiss' kappa, Krippendorff's alpha.

Pure functions over label lists or count tables; the loops that read label files live in
:mod:`annotation.labels`. Labels are any hashable category (tag names here). Missing ratings are
``None`` and are skipped the way each statistic prescribes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

import numpy as np


def _categories(*groups: Sequence[Hashable | None]) -> list[Hashable]:
    seen: dict[Hashable, None] = {}
    for g in groups:
        for v in g:
            if v is not None:
                seen.setdefault(v, None)
    return sorted(seen, key=str)


def confusion_matrix(
    a: Sequence[Hashable], b: Sequence[Hashable], labels: Sequence[Hashable] | None = None
) -> tuple[list[Hashable], np.ndarray]:
    """Counts ``m[i, j]`` of items labelled ``labels[i]`` by rater a and ``labels[j]`` by rater b."""
    if len(a) != len(b):
        raise ValueError(
            f"the two raters labelled different numbers of items ({len(a)} vs {len(b)})"
        )
    cats = list(labels) if labels is not None else _categories(a, b)
    index = {c: i for i, c in enumerate(cats)}
    m = np.zeros((len(cats), len(cats)), dtype=np.int64)
    for x, y in zip(a, b):
        if x is None or y is None:
            continue
        m[index[x], index[y]] += 1
    return cats, m


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa for two raters over the items both labelled.

    kappa = (p_o - p_e) / (1 - p_e) with p_o the observed agreement and p_e the agreement
    expected from each rater's marginal label frequencies. NaN when it is undefined: no item, or
    both raters used one and the same label for everything (p_e = 1, so 0 / 0; sklearn and
    statsmodels say the same). Report :func:`observed_agreement` beside it.
    """
    _, m = confusion_matrix(a, b)
    n = m.sum()
    if n == 0:
        return float("nan")
    p_o = np.trace(m) / n
    p_e = float((m.sum(axis=1) / n) @ (m.sum(axis=0) / n))
    if p_e >= 1.0:
        return float("nan")
    return float((p_o - p_e) / (1.0 - p_e))


def fleiss_kappa(counts: np.ndarray | Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa from an items x categories table of rating counts.

    Every item must have the same number of ratings n (Fleiss' design). P_i is the share of
    agreeing rater pairs on item i, P-bar their mean, P_e = sum_j p_j^2 with p_j the overall share
    of category j; kappa = (P-bar - P_e) / (1 - P_e). NaN (undefined) when every rating is
    one category (P_e = 1).
    """
    table = np.asarray(counts, dtype=np.float64)
    if table.ndim != 2 or table.shape[0] == 0:
        raise ValueError("need an items x categories table with at least one item")
    per_item = table.sum(axis=1)
    n = per_item[0]
    if n < 2 or not np.all(per_item == n):
        raise ValueError(
            "Fleiss' kappa needs the same number (>= 2) of ratings for every item; "
            "use Krippendorff's alpha for missing or uneven ratings"
        )
    p_j = table.sum(axis=0) / table.sum()
    p_i = ((table * (table - 1)).sum(axis=1)) / (n * (n - 1))
    p_bar = p_i.mean()
    p_e = float((p_j**2).sum())
    if p_e >= 1.0:
        return float("nan")
    return float((p_bar - p_e) / (1.0 - p_e))


def ratings_to_counts(
    ratings: Sequence[Sequence[Hashable | None]], labels: Sequence[Hashable] | None = None
) -> tuple[list[Hashable], np.ndarray]:
    """Items x raters ratings (None = missing) -> (categories, items x categories counts)."""
    cats = list(labels) if labels is not None else _categories(*ratings)
    index = {c: i for i, c in enumerate(cats)}
    out = np.zeros((len(ratings), len(cats)), dtype=np.int64)
    for r, row in enumerate(ratings):
        for v in row:
            if v is not None:
                out[r, index[v]] += 1
    return cats, out


def krippendorff_alpha_nominal(ratings: Sequence[Sequence[Hashable | None]]) -> float:
    """Krippendorff's alpha for nominal labels; items x raters, None for a missing rating.

    Builds the coincidence matrix o[c, k] (each unit with m >= 2 values adds 1/(m - 1) per ordered
    pair of its values) and returns 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k.
    Units with fewer than two values are not pairable and are dropped. NaN (undefined, as the
    ``krippendorff`` package says) when no unit is pairable or every value is one category.
    """
    cats, counts = ratings_to_counts(ratings)
    m_u = counts.sum(axis=1)
    pairable = counts[m_u >= 2]
    if pairable.shape[0] == 0:
        return float("nan")
    m = pairable.sum(axis=1, keepdims=True).astype(np.float64)
    # o[c, k] = sum_u (n_uc * n_uk - [c == k] n_uc) / (m_u - 1)
    o = np.einsum("uc,uk->ck", pairable / (m - 1), pairable.astype(np.float64))
    o -= np.diag((pairable / (m - 1)).sum(axis=0))
    n_c = o.sum(axis=1)
    n = n_c.sum()
    disagree_obs = o.sum() - np.trace(o)
    disagree_exp = (np.outer(n_c, n_c).sum() - (n_c**2).sum()) / (n - 1)
    if disagree_exp == 0:
        return float("nan")
    return float(1.0 - disagree_obs / disagree_exp)


def observed_agreement(ratings: Sequence[Sequence[Hashable | None]]) -> float:
    """Share of agreeing rater pairs, averaged over items with at least two ratings.

    The P-bar of Fleiss' kappa, extended to uneven ratings; for two raters it is the share of
    items they label alike. Defined whenever some item has two ratings (NaN otherwise): the
    number to read when a chance-corrected statistic is undefined.
    """
    _, counts = ratings_to_counts(ratings)
    m = counts.sum(axis=1)
    keep = m >= 2
    if not keep.any():
        return float("nan")
    c, m = counts[keep].astype(np.float64), m[keep].astype(np.float64)
    return float(((c * (c - 1)).sum(axis=1) / (m * (m - 1))).mean())


def single_category(ratings: Sequence[Sequence[Hashable | None]]) -> Hashable | None:
    """The one category every rating uses, or None when two or more are used."""
    cats = _categories(*ratings)
    return cats[0] if len(cats) == 1 else None


def pivot_ratings(
    labels: Sequence[Mapping[str, Hashable]],
    *,
    item: str = "item_id",
    rater: str = "annotator",
    value: str = "rmt",
) -> tuple[list[str], list[str], list[list[Hashable | None]]]:
    """Long label rows -> (item ids, rater ids, items x raters matrix with None for missing)."""
    items = sorted({str(r[item]) for r in labels})
    raters = sorted({str(r[rater]) for r in labels})
    ii = {x: i for i, x in enumerate(items)}
    rr = {x: i for i, x in enumerate(raters)}
    grid: list[list[Hashable | None]] = [[None] * len(raters) for _ in items]
    for r in labels:
        grid[ii[str(r[item])]][rr[str(r[rater])]] = r[value]
    return items, raters, grid


def majority(values: Sequence[Hashable | None]) -> tuple[Hashable | None, float]:
    """Most frequent label and its share among the given ratings.

    A tie for the top is a disagreement, not a choice: the label is None (the share is still
    the top count's), and the item goes to adjudication.
    """
    vals = [v for v in values if v is not None]
    if not vals:
        return None, 0.0
    counts = Counter(vals).most_common()
    top, n_top = counts[0]
    if len(counts) > 1 and counts[1][1] == n_top:
        return None, n_top / len(vals)
    return top, n_top / len(vals)
