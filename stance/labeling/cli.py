"""``stance label ...``: init, serve, status, batch, export, import."""

from __future__ import annotations

import argparse
import getpass
import json
import signal
from pathlib import Path


def _labeller(value: str | None) -> str:
    if value:
        return value
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "labeller"


def _init(args: argparse.Namespace) -> int:
    from stance.labeling.project import init_project

    columns = {
        "text": args.text_column,
        "id": args.id_column,
        "title": args.title_column,
        "source": args.source_column,
        "date": args.date_column,
    }
    store = init_project(
        args.name,
        args.target,
        args.pool,
        actors=args.actors,
        guide=args.guide,
        labels=[s.strip() for s in args.labels.split(",") if s.strip()],
        columns=columns,
        directory=args.dir,
        strategy=args.strategy,
        batch_size=args.batch_size,
        model=args.model,
        features=args.features,
    )
    first = store.queue()
    print(
        f"created {store.path}: {store.n_articles()} articles, labels {list(store.labels)}; "
        f"first batch of {len(first)} retrieved. Next: stance label serve {args.name}"
    )
    return 0


def _serve(args: argparse.Namespace) -> int:
    from stance.labeling.project import open_project
    from stance.labeling.server import make_server

    store = open_project(args.name, args.dir)
    server = make_server(store, args.host, args.port, _labeller(args.labeller))
    host, port = server.server_address[:2]
    print(
        f"labelling {store.meta['target']!r} at http://{host}:{port}/  (Ctrl-C to stop;"
        " every label is saved as it is given)",
        flush=True,
    )
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped; all labels given so far are in " + str(store.path))
    finally:
        server.server_close()
    return 0


def _status(args: argparse.Namespace) -> int:
    from stance.labeling.project import open_project, status

    info = status(open_project(args.name, args.dir, readonly=True))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['project']}: stance toward {info['target']} ({info['file']})")
    print(f"labelled {info['n_labelled']} of {info['n_articles']}")
    for label, n in info["counts"].items():
        print(f"  {label:<12} {n}")
    est = info["estimate"]
    if est and est.get("macro_f1") is not None:
        lo, hi = est["ci95"]
        print(
            f"model quality: macro-F1 {100 * est['macro_f1']:.1f} (95% CI {100 * lo:.1f}–{100 * hi:.1f}), "
            f"{est['n_splits']}-fold CV on {est['n_labels']} labels"
        )
    print(f"hint: {info['hint']}")
    if info["next"]:
        print(f"next ({info['strategy']}):")
        for item in info["next"]:
            print(f"  {item['id']}  {item['title'][:70]}")
    return 0


def _batch(args: argparse.Namespace) -> int:
    from stance.labeling.project import open_project, propose_batch

    store = open_project(args.name, args.dir)
    batch = propose_batch(store, args.strategy)
    if batch is None:
        print("nothing left to propose: every article is labelled or already queued")
    else:
        print(f"batch {batch}: {len(store.queue(batch))} articles proposed")
    return 0


def _export(args: argparse.Namespace) -> int:
    from stance.labeling.project import export_csv, open_project, write_atomically

    store = open_project(args.name, args.dir, readonly=True)
    fmt = args.format or ("label-studio" if args.out.endswith(".json") else "csv")
    if fmt == "csv":
        n = export_csv(store, args.out)
        print(
            f"wrote {n} labelled articles to {args.out} (stance-run data=file data.path={args.out})"
        )
    else:
        from stance.labeling.label_studio import labeling_config, to_tasks

        tasks = to_tasks(store, include_unlabelled=args.all)
        write_atomically(args.out, json.dumps(tasks, ensure_ascii=False, indent=1))
        config = Path(args.out).with_suffix(".xml")
        write_atomically(config, labeling_config(list(store.labels), store.meta["target"]))
        print(f"wrote {len(tasks)} Label Studio tasks to {args.out}, labelling config {config}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from stance.labeling.project import import_table, open_project

    store = open_project(args.name, args.dir)
    fmt = args.format or ("label-studio" if args.file.endswith(".json") else "table")
    if fmt == "label-studio":
        from stance.labeling.label_studio import read_tasks

        n = store.import_labels(read_tasks(args.file), _labeller(args.labeller))
    else:
        n = import_table(store, args.file, _labeller(args.labeller))
    print(f"imported {n} new label(s) into {store.path}")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "label", help="label a new target: active learning, a label store, a labelling page"
    )
    sub = parser.add_subparsers(dest="label_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("name", help="project name (the file is DIR/NAME.sqlite)")
        p.add_argument(
            "--dir", default=None, help="project folder (default $STANCE_LABEL_DIR or ./labeling)"
        )

    p = sub.add_parser("init", help="create a project from an unlabelled archive")
    common(p)
    p.add_argument("--target", required=True, help='what stance is toward, e.g. "NATO enlargement"')
    p.add_argument("--pool", required=True, help="the archive: CSV, TSV, JSONL(.gz), Parquet…")
    p.add_argument("--actors", default=None, help="alias file (conf/actors/NAME.yaml, or NAME)")
    p.add_argument("--guide", default=None, help="annotation guide, Markdown (default: a template)")
    p.add_argument("--labels", default="favor,against,neutral,unrelated")
    p.add_argument("--strategy", default=None, help="random|uncertainty|margin|diverse|balanced")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--model", default=None, help="a conf/model name (default logreg)")
    p.add_argument("--features", default=None, help="a conf/features name (default tfidf)")
    for col in ("text", "id", "title", "source", "date"):
        p.add_argument(f"--{col}-column", default=None, help=f"the pool's {col} column")
    p.set_defaults(func=_init)

    p = sub.add_parser("serve", help="the labelling page on http://127.0.0.1:PORT/")
    common(p)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--labeller", default=None, help="default labeller name (default: $USER)")
    p.set_defaults(func=_serve)

    p = sub.add_parser("status", help="labels per class, model quality with CI, what is next")
    common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_status)

    p = sub.add_parser("batch", help="retrain and propose the next batch now")
    common(p)
    p.add_argument("--strategy", default=None)
    p.set_defaults(func=_batch)

    p = sub.add_parser("export", help="labels as a corpus CSV, or Label Studio JSON")
    common(p)
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--format", choices=["csv", "label-studio"], default=None)
    p.add_argument("--all", action="store_true", help="Label Studio: include unlabelled articles")
    p.set_defaults(func=_export)

    p = sub.add_parser("import", help="labels from a table (id, label) or Label Studio JSON")
    common(p)
    p.add_argument("file")
    p.add_argument("--format", choices=["table", "label-studio"], default=None)
    p.add_argument("--labeller", default=None)
    p.set_defaults(func=_import)
