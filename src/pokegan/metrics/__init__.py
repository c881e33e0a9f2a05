"""Metrics on one pinned feature network: FID, KID, precision/recall, and IS where possible.

Modules: ``inception`` (the sha1-pinned TF-Inception pool3 network and its resize),
``features`` (the shared feature cache and reference files), ``registry`` (what every metric
declares) and one module per metric that registers itself there, and one per job:
``references`` (the ``reference`` stage), ``evaluate`` (the ``evaluate@<variant>`` stage) and
``compare`` (``pokegan fid``). Importing this package is cheap; the registry imports every module
of it on first use, and torch-fidelity is imported only by the functions that use it.
"""
