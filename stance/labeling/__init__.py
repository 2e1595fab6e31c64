"""From an unlabelled archive to a usable model: a label store, cold start and
active learning, a local labelling page, Label Studio interop.

Modules, one job each:
    store          the SQLite label store (WAL; append-only label events, claims)
    project        create a project from a pool file, propose batches, status, export
    cold_start     the first batch: alias retrieval spread over outlets and years
    strategies     query strategies (uncertainty, margin, diverse, balanced, random)
    learner        retrain a zoo model; CV macro-F1 with CI; the stopping hint
    server         ``stance label serve``: the page and its JSON API (stdlib http.server)
    label_studio   Label Studio JSON export / import
    simulate       replay labelling on a labelled corpus (experiments/active_learning.py)
"""

from stance.labeling.store import LabelStore

__all__ = ["LabelStore"]
