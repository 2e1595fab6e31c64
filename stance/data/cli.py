"""``stance data``: list, inspect, verify and fetch corpora.

Registered by the top-level ``stance`` dispatcher through :func:`add_parser`;
each action returns an exit code (0 fine, 1 a check failed; user errors raise
:class:`~stance.errors.StanceError`, which the dispatcher prints, exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stance.data.registry import CORPORA, DATASETS, dataset_names
from stance.errors import DataError


def _data_dir(args: argparse.Namespace) -> Path:
    if getattr(args, "data_dir", None):
        return Path(args.data_dir).expanduser().resolve()
    from stance.paths import default_data_dir

    return default_data_dir()


def _present(data_dir: Path, name: str) -> bool:
    return DATASETS[name].present(data_dir)


def cmd_list(args: argparse.Namespace) -> int:
    """Known corpora: whether their files are here, documented rows and labels."""
    data_dir = _data_dir(args)
    print(f"data directory: {data_dir}")
    print(f"{'corpus':<21} {'present':<8} {'rows':>7}  labels")
    for name, spec in CORPORA.items():
        present = "yes" if spec.present(data_dir) else "no"
        print(f"{name:<21} {present:<8} {spec.documented.rows:>7}  {spec.documented.summary()}")
    print("also: data=file for your own CSV / TSV / JSONL / Parquet / JSON folder / HF dataset")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Load a corpus and describe it: fields, label distribution, splits, notes."""
    from stance.data.loading import load_spec

    name = args.name
    if name not in CORPORA:
        if name in DATASETS:
            name = next(n for n, s in CORPORA.items() if name in [d.name for d in s.datasets])
        else:
            dataset_names(name)  # raises with the known names
    spec = CORPORA[name]
    corpus = load_spec(spec(), _data_dir(args))
    frame = corpus.frame
    task = corpus.task
    print(
        f"{corpus.name}: {len(corpus)} rows; task labels {list(task.labels)}, metric {task.metric}"
        + (f" over {list(task.metric_labels)}" if task.metric_labels else "")
    )
    filled = {c: int((frame[c] != "").sum()) for c in frame.columns if c != "split"}
    print("fields (non-empty rows): " + ", ".join(f"{c} {n}" for c, n in filled.items()))
    counts = frame["label"].value_counts()
    print("labels: " + ", ".join(f"{label} {int(counts.get(label, 0))}" for label in task.labels))
    if corpus.has_predefined_split:
        print("splits: " + ", ".join(f"{k} {v}" for k, v in frame["split"].value_counts().items()))
    for column in ("target", "group", "source"):
        values = frame[column][frame[column] != ""]
        if len(values):
            print(
                f"{column}: {values.nunique()} distinct (top: {', '.join(values.value_counts().index[:3])})"
            )
    for note in [spec.notes, *corpus.notes]:
        if note:
            print(f"note: {note}")
    print(f"fingerprint: {corpus.fingerprint[:16]}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Re-hash each dataset's files against its SHA256SUMS."""
    from stance.data.fetch import verify

    data_dir = _data_dir(args)
    failed = False
    for name in dataset_names(args.name):
        folder = data_dir / name
        if not folder.is_dir():
            raise DataError(f"{folder} does not exist; run `stance data fetch {name}`")
        problems = verify(folder)
        if problems:
            failed = True
            print(f"{name}: FAILED ({len(problems)} problem(s))")
            for problem in problems[:20]:
                print(f"  {problem}")
        else:
            print(f"{name}: OK")
    return 1 if failed else 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Download (or copy with --from) each dataset a corpus needs, then checksum it."""
    from stance.data.fetch import fetch

    data_dir = _data_dir(args)
    names = dataset_names(args.name)
    if args.source and len(names) > 1:
        names = [n for n in names if n == args.name] or names[:1]
    for name in names:
        if _present(data_dir, name) and not args.force:
            print(f"{name}: already present in {data_dir / name} (use --force to replace)")
            continue
        dest = fetch(name, data_dir, Path(args.source) if args.source else None, force=args.force)
        print(f"{name}: fetched into {dest} (checksums in {dest / 'SHA256SUMS'})")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``stance data`` and its actions on the dispatcher's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=None,
        help="data directory (default: STANCE_DATA_DIR or the search path)",
    )
    parser = subparsers.add_parser("data", help="list, inspect, verify and fetch corpora")
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")

    listing = actions.add_parser("list", parents=[common], help="known corpora, present or not")
    listing.set_defaults(func=cmd_list)

    info = actions.add_parser("info", parents=[common], help="fields, label distribution, splits")
    info.add_argument("name", help="a corpus or dataset name (see `stance data list`)")
    info.set_defaults(func=cmd_info)

    check = actions.add_parser("verify", parents=[common], help="check files against SHA256SUMS")
    check.add_argument("name", help="corpus or dataset name")
    check.set_defaults(func=cmd_verify)

    get = actions.add_parser("fetch", parents=[common], help="download a corpus from upstream")
    get.add_argument("name", help="corpus or dataset name")
    get.add_argument(
        "--from", dest="source", default=None, help="take a local folder or archive instead"
    )
    get.add_argument("--force", action="store_true", help="replace a dataset already present")
    get.set_defaults(func=cmd_fetch)

    def _help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=_help)
    return parser
