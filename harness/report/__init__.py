"""``slrbench report``: tracked runs -> one self-contained HTML comparison (+ CSV, LaTeX).

``collect`` tidies MLflow runs into benchmarks of configurations, ``artifacts`` reads
predictions, confusions and curves, ``uncertainty`` and ``stats`` give the intervals and the
paired test, ``headline`` chooses each model's configuration on validation and ranks the
models on test, ``tables``/``exports`` format them (HTML, CSV, LaTeX), ``details``,
``vocabulary``, ``keyframes`` and ``sota`` build the other sections, ``figures``/``encode``/
``skeleton`` draw compact data URIs, and ``build`` renders ``templates/`` with the inlined
``static/report.css``.
"""
