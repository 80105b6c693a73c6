"""MAPLE-Synth: a generated benchmark whose required-modality labels are true by construction.

``generate(out, SynthConfig(...))`` writes real media (h264 + aac mp4, .srt) and raw annotations;
``solver.ReferenceSolver`` answers the questions by perceiving the presented streams. The option
grammar is documented in :mod:`maple_bench.synth.attributes`, the option-set rules in
:mod:`maple_bench.synth.questions`.
"""

from maple_bench.synth.attributes import OptionGrammarError, format_option, parse_option
from maple_bench.synth.generate import SYNTH_VERSION, SynthConfig, generate

__all__ = [
    "SYNTH_VERSION",
    "OptionGrammarError",
    "SynthConfig",
    "format_option",
    "generate",
    "parse_option",
]
