"""``maple-bench demo``: the whole toolkit on one synthetic benchmark, offline, in minutes.

Steps (:mod:`.pipeline`): generate MAPLE-Synth -> build MAPLE-QA / MAPLE-QA+ with data cards ->
train the compact policy with the MUPO and MAPO presets -> evaluate the random baseline, both
checkpoints and the reference solver with ``maple-eval`` on the held-out split -> publish the
leaderboards -> render the leaderboard page and the plots -> print the final table. Sizes live in
:mod:`.config`, paths in :mod:`.layout`; :mod:`.check` validates a finished output folder.

Import the submodules directly (``from evaluators.demo.pipeline import run_demo``); this package
imports nothing so that ``maple-bench --help`` stays fast.
"""
