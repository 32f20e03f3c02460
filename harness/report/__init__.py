"""``slrbench report``: tracked runs -> one self-contained HTML comparison (+ CSV, LaTeX).

``collect`` tidies MLflow runs and groups them by split, ``artifacts`` reads confusions,
predictions and curves, ``figures``/``skeleton`` draw PNG data URIs, ``tables`` formats the
summary, ``confusions``, ``keyframes`` and ``sota`` build their sections, and ``build``
renders ``templates/`` with the inlined ``static/report.css``.
"""
