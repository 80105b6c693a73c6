"""Metric names, their plain-text definitions and the version every results file records.

Bump :data:`METRICS_VERSION` whenever a definition below changes meaning, so two results files
with different versions are never compared silently.
"""

from __future__ import annotations

METRICS_VERSION = "1.1"
"""Version of the metric definitions written into every results file."""

CI_LEVEL = 0.95
"""Coverage of the bootstrap percentile intervals."""

DEFINITIONS: dict[str, str] = {
    "item_score": (
        "Per item (doc_id): the mean over its k draws of the per-draw score (1/0 correctness for "
        "QA, the normalised judge score in [0, 1] for captions): pass@1 estimated from k samples. "
        "Every metric below averages item scores, so an item counts once whatever its k."
    ),
    "acc_by_tag": (
        "acc(t): mean item score over items whose required modality tag (RMT) is t, with the item "
        "count, the number of distinct videos, and a 95% percentile bootstrap CI clustered by "
        "video_id (videos resampled with replacement). A tag absent from the log is null. "
        "Items of every presentation in the log count (in QA+ logs, see acc_by_condition and "
        "acc_by_presentation for the split by what was shown)."
    ),
    "acc_by_presentation": "Mean item score over items presented with streams p (any RMT).",
    "avg_acc": "Macro mean of the 7 tag accuracies; null unless all 7 tags are present.",
    "avg_acc_present": "Macro mean over the tags present in the log (for partial runs).",
    "micro_acc": "Mean item score over all items (every item weighs the same).",
    "acc_uni": "Mean of acc(V), acc(A), acc(S); null if any is missing.",
    "acc_multi": "Mean of acc(VA), acc(VS), acc(AS), acc(VAS); null if any is missing.",
    "uni_multi_gap": "|acc_uni - acc_multi|.",
    "modality_spread": "max_t acc(t) - min_t acc(t) over the 7 tags; null unless all 7 present.",
    "fusion_gain": ("acc_multi - max(acc(V), acc(A), acc(S)), as a fraction (x100 for points)."),
    "fusion_gain_rel": "fusion_gain / max(acc(V), acc(A), acc(S)); null when that max is 0.",
    "acc_by_condition": (
        "QA+ only (rows whose options include the None option): mean item score by condition "
        "(exact: P = R, superset: P strictly contains R, deficit: a required stream is missing)."
    ),
    "abstention_rate": "QA+ deficit rows: share of draws that chose the None option.",
    "hallucination_rate": (
        "QA+ deficit rows: share of draws that chose a content (non-None) option. "
        "abstention + hallucination + invalid/error on deficit rows = 1."
    ),
    "none_precision": "QA+ rows: P(target is None | the model chose None); null if never chosen.",
    "none_recall": "QA+ rows: P(the model chose None | target is None); null if no None target.",
    "none_f1": "2PR / (P + R) of none_precision and none_recall; null if P + R = 0 or missing.",
    "superset_robustness": "acc(superset) / acc(exact) on QA+ rows; null when acc(exact) = 0.",
    "invalid_rate": (
        "Over all items: share of draws whose answer could not be parsed (error rows excluded); "
        "they count as wrong."
    ),
    "error_rate": (
        "Over all items: share of draws that could not be run (missing or corrupt media, model "
        "failure); they count as wrong (score 0)."
    ),
    "per_video_fusion_gain": (
        "Captions: per video, score(VAS) - max(score(V), score(A), score(S)) on the judge score, "
        "averaged over videos that have all four."
    ),
    "bleu4": (
        "Corpus BLEU-4 (uniform weights, brevity penalty from the closest reference length, no "
        "smoothing) on lower-cased word tokens; see evaluators.captions.lexical."
    ),
    "rouge_l": "Mean over captions of ROUGE-L F (LCS, beta = 1.2 as in coco-caption, max over refs).",
    "cider_d": (
        "Mean CIDEr-D (n = 1..4, tf-idf, clipping, gaussian length penalty sigma = 6, x10). "
        "Document frequencies are counted per video: the 7 tag rows of a video share its "
        "references, so a video is one document (idf = log(N_videos / df)). coco-caption counts "
        "one document per scored caption, which here would count each video's references 7 "
        "times; scores are therefore not comparable with per-caption-df CIDEr-D numbers."
    ),
    "ci": (
        "95% percentile bootstrap interval, resampling video_id clusters with replacement "
        "(n_bootstrap resamples, seeded); resamples where a metric is undefined are dropped."
    ),
    "paired_difference": (
        "Run B minus run A on identical (doc_id, draw) sets; CI from a paired bootstrap over videos "
        "(the same resampled videos for both runs); two-sided p-value from a sign-flip "
        "permutation test that swaps the two runs' results within each video (p = (1 + #|d*| >= "
        "|d|) / (1 + n_permutations))."
    ),
    "gap_reduction": "(gap_A - gap_B) / gap_A with gap = uni_multi_gap; null when gap_A = 0.",
}
"""Human-readable definition of every metric name that can appear in a results file."""

HIGHER_IS_BETTER: dict[str, bool] = {
    "avg_acc": True,
    "avg_acc_present": True,
    "micro_acc": True,
    "acc_uni": True,
    "acc_multi": True,
    "uni_multi_gap": False,
    "modality_spread": False,
    "fusion_gain": True,
    "fusion_gain_rel": True,
    "abstention_rate": True,
    "hallucination_rate": False,
    "none_precision": True,
    "none_recall": True,
    "none_f1": True,
    "superset_robustness": True,
    "invalid_rate": False,
    "error_rate": False,
    "per_video_fusion_gain": True,
    "bleu4": True,
    "rouge_l": True,
    "cider_d": True,
}
"""Direction of every headline metric (lm-eval's ``higher_is_better`` block)."""
