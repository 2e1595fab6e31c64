"""``stance predict`` and ``stance tag``: apply a saved model from the shell.

The top-level ``stance`` dispatcher (:mod:`stance.cli`) calls
:func:`add_predict_parser` / :func:`add_tag_parser` and then ``args.func(args)``.
Heavy imports (pandas, scikit-learn, skops) happen inside the handlers so that
building the parser, and ``stance --help``, stay instant. Every user-facing
failure becomes a one-line message and exit status 2, never a traceback.

``python -m stance.predict_cli predict RUN_DIR article.txt`` works without the
dispatcher too.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["add_predict_parser", "add_tag_parser", "run_predict", "run_tag", "main"]

_TEXT_SUFFIXES = {".txt", ".text", ".md", ""}


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="run directory (with model.skops) or a .skops model file")
    parser.add_argument("--text-column", default="text", help="column holding the article body")
    parser.add_argument("--title-column", default=None, help="column holding the headline")
    parser.add_argument(
        "--target",
        default=None,
        help="actor/topic to predict stance toward (default: the model's own)",
    )
    parser.add_argument(
        "--target-column", default=None, help="per-row target column instead of --target"
    )
    parser.add_argument(
        "--id-column",
        default=None,
        help="column to use as id (default: the input's 'id' column when it has one, "
        "else the row number)",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        help="encoding of the input, any format, compressed or not (default utf-8; "
        "e.g. latin-1, cp1252)",
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="load model files with unknown types or pickles (runs their code!)",
    )
    parser.add_argument(
        "--backend",
        choices=["torch", "onnx", "onnx-int8", "onnx-int8-mixed"],
        default=None,
        help="run the model's encoder (sentence embeddings, model=transformer) with torch "
        "or ONNX Runtime, float32, int8, or int8 but the last layer (faster on CPU; needs "
        "the [onnx] extra); default: as saved",
    )


_FORMATS_HELP = (
    "default: from the file name: .csv, .tsv, .jsonl/.ndjson/.json (JSON records: one "
    "object per line, or one array of objects), .parquet; .gz/.bz2/.xz compressed too"
)


def add_predict_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``stance predict MODEL [FILE | -]``."""
    parser = subparsers.add_parser(
        "predict",
        help="predict the stance of a few documents",
        description="Predict stance for a text file (one document), a JSONL/CSV file "
        "(one document per row) or standard input; writes CSV or JSONL with "
        "the label and per-class probabilities.",
    )
    _common_options(parser)
    parser.add_argument(
        "input", nargs="?", default="-", help="input file, or - for stdin (default)"
    )
    parser.add_argument(
        "--format",
        choices=["text", "jsonl", "json", "csv", "tsv", "parquet"],
        default=None,
        help=f"input format ({_FORMATS_HELP}; .txt/.md or no suffix and stdin: one document)",
    )
    parser.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    parser.add_argument(
        "--output-format",
        choices=["csv", "jsonl"],
        default=None,
        help="default: from --output's suffix, else csv",
    )
    parser.add_argument(
        "--explain",
        nargs="?",
        const=10,
        default=None,
        type=int,
        metavar="K",
        help="also print, on stderr, why each document got its label: the K features "
        "(linear models) or sentences (occlusion) that weighed most (default K: 10); "
        "the predictions on stdout / --output are unchanged",
    )
    parser.set_defaults(func=run_predict)
    return parser


def add_tag_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``stance tag MODEL CORPUS --out OUT.parquet``."""
    parser = subparsers.add_parser(
        "tag",
        help="tag a large corpus (streamed, resumable) into Parquet",
        description="Stream a JSONL(.gz)/CSV/Parquet corpus in batches, write per-batch parts "
        "under OUT.parts/ and assemble OUT atomically; rerunning after an "
        "interruption resumes without redoing finished batches.",
    )
    _common_options(parser)
    parser.add_argument("corpus", help="corpus file (.jsonl, .jsonl.gz, .csv, .tsv, .parquet)")
    parser.add_argument("--out", required=True, help="output Parquet file")
    parser.add_argument(
        "--format",
        choices=["jsonl", "json", "csv", "tsv", "parquet"],
        default=None,
        help=f"corpus format ({_FORMATS_HELP})",
    )
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument(
        "--keep",
        action="append",
        default=[],
        help="columns to copy into the output (repeat or comma-separate)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--restart", action="store_true", help="discard unfinished parts and start over"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    from stance.distributed import add_dask_options  # --engine dask: stance/distributed.py

    add_dask_options(parser)
    parser.set_defaults(func=run_tag)
    return parser


def _guarded(
    command: str, body: Callable[[argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from stance.errors import StanceError

        try:
            with warnings.catch_warnings():
                # Library chatter (e.g. scikit-learn dtype notes) is noise here;
                # our own warnings are printed as one-liners.
                warnings.simplefilter("ignore")
                warnings.filterwarnings("always", module="stance")
                warnings.showwarning = _show_warning
                return body(args)
        except StanceError as exc:
            print(f"stance {command}: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:
            from stance.tagging import TagInterrupted

            detail = str(exc) if isinstance(exc, TagInterrupted) else "interrupted"
            print(f"stance {command}: {detail}", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 0
        except (OSError, MemoryError) as exc:
            print(f"stance {command}: error: {exc}", file=sys.stderr)
            return 2

    handler.__name__ = f"run_{command}"
    return handler


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------- predict
def _read_text_document(source: str, encoding: str) -> str:
    from stance.errors import DataError

    if source == "-":
        data = sys.stdin.buffer.read()
        where = "stdin"
    else:
        path = Path(source)
        if not path.exists() or path.is_dir():
            raise DataError(f"input file not found: {path}")
        data = path.read_bytes()
        where = str(path)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where}: not valid {encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "pass --encoding (e.g. cp1252) or re-encode the file"
        ) from None
    except LookupError:
        raise DataError(f"unknown --encoding {encoding!r}") from None
    if not text.strip():
        raise DataError(f"{where}: the document is empty")
    return text


#: Rows predicted at a time, so a long input shows progress; predictions do not depend on it.
PREDICT_CHUNK = 256
#: Seconds before the progress bar appears: a quick input (one article) shows none.
PROGRESS_DELAY_S = 2.0


def _read_rows(args: argparse.Namespace, fmt: str) -> tuple[Any, Any, list[Any]]:
    """A JSONL/CSV/TSV/Parquet input: the table, the model input and the ids."""
    import pandas as pd

    from stance.data.stream import InputColumns, check_columns, iter_batches
    from stance.errors import DataError

    path = Path(args.input)
    notes: list[str] = []
    batches = list(iter_batches(path, 1 << 16, fmt, notes, encoding=args.encoding))
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    if not sum(len(batch) for batch in batches):
        raise DataError(f"{path}: no rows (expected a header and at least one data row)")
    table = pd.concat(batches, ignore_index=True)
    columns = InputColumns(
        args.text_column, args.title_column, args.target_column, args.id_column
    ).resolve(list(table.columns))
    check_columns(table, columns.options(), path)
    ids = table[columns.id].tolist() if columns.id else list(range(len(table)))
    return table, columns, ids


def _predict_in_chunks(model: Any, frame: Any) -> Any:
    """``model.predict_frame`` over ``frame``, with one progress bar (stderr) if it takes long."""
    import pandas as pd
    from tqdm.auto import tqdm

    parts = []
    with tqdm(
        total=len(frame),
        unit=" rows",
        desc="predicting",
        file=sys.stderr,
        delay=PROGRESS_DELAY_S,
        disable=len(frame) <= 1,
        dynamic_ncols=True,
    ) as bar:
        for start in range(0, len(frame), PREDICT_CHUNK):
            chunk = frame.iloc[start : start + PREDICT_CHUNK]
            parts.append(model.predict_frame(chunk))
            bar.update(len(chunk))
    return pd.concat(parts)


def _write_output(out: Any, destination: str, out_fmt: str) -> None:
    """CSV or JSONL to stdout, or atomically to a file that follows the umask."""
    import os
    import tempfile

    from stance.paths import publish

    if out_fmt == "csv":
        payload = out.to_csv(index=False, float_format="%.4f")
    else:
        payload = out.to_json(orient="records", lines=True, force_ascii=False, double_precision=4)
    if destination == "-":
        sys.stdout.write(payload)
        sys.stdout.flush()
        return
    dest = Path(destination)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(payload)
        publish(tmp, dest)
    except BaseException:  # interrupted or disk full: no partial file left behind
        Path(tmp).unlink(missing_ok=True)
        raise


def _predict_body(args: argparse.Namespace) -> int:
    import pandas as pd

    from stance.data.stream import bad_records, stream_format
    from stance.data.table import ModelInput
    from stance.errors import DataError
    from stance.inference import STATUS_OK, load, silence_library_progress

    source = args.input
    fmt = args.format
    if fmt is None:
        fmt = "text" if source == "-" or Path(source).suffix.lower() in _TEXT_SUFFIXES else None
    if fmt != "text":
        if source == "-":
            raise DataError("reading JSONL/CSV from stdin is not supported; pass a file")
        if not Path(source).is_file():
            raise DataError(f"input file not found: {source}")
        fmt = stream_format(source, fmt)
    model = load(args.model, trusted=args.trust, backend=args.backend)
    silence_library_progress()
    target = None if args.target_column else model.target_for(args.target)

    if fmt == "text":
        text = _read_text_document(source, args.encoding)
        frame = ModelInput.from_lists([""], target=target)
        frame["text"] = pd.Series([text], dtype=object)
        ids: list[Any] = [Path(source).name if source != "-" else "stdin"]
        bad = None
    else:
        table, columns, ids = _read_rows(args, fmt)
        frame = columns.model_input(table, target)
        bad = bad_records(table)

    pred = _predict_in_chunks(model, frame)
    if bad is not None:
        pred.loc[bad, "status"] = "bad_record"
    if fmt == "text" and pred["status"].iloc[0] != STATUS_OK:
        raise DataError(f"{ids[0]}: cannot classify the document ({pred['status'].iloc[0]})")
    out = pd.DataFrame({"id": ids, "target": frame["target"].to_numpy()})
    out = pd.concat([out, pred.reset_index(drop=True)], axis=1)
    n_bad = int((out["status"] != STATUS_OK).sum())
    if n_bad:
        print(
            f"warning: {n_bad} of {len(out)} rows not classified (see the status column)",
            file=sys.stderr,
        )
    out_fmt = args.output_format or (
        "jsonl" if str(args.output).endswith((".jsonl", ".json")) else "csv"
    )
    _write_output(out, args.output, out_fmt)
    if args.explain:
        _print_explanations(model, frame, out, args.explain)
    return 0 if n_bad < len(out) else 1


def _print_explanations(model: Any, frame: Any, out: Any, top_k: int) -> None:
    """One block per classified document on stderr: label, target, what weighed most."""
    from stance.inference import STATUS_OK

    for row, (doc_id, status) in enumerate(zip(out["id"], out["status"], strict=True)):
        if status != STATUS_OK:
            continue
        table = model.explain(
            str(frame["text"].iloc[row]),
            target=str(frame["target"].iloc[row]),
            top_k=top_k,
            title=str(frame["title"].iloc[row] or ""),
        )
        attrs = table.attrs
        print(
            f"{doc_id}: {attrs['label']} toward {attrs['target']!r} "
            f"(explained by {attrs['method']})",
            file=sys.stderr,
        )
        print(table.to_string(index=False), file=sys.stderr)


# ---------------------------------------------------------------------------- tag
def _tag_body(args: argparse.Namespace) -> int:
    from stance.data.stream import InputColumns
    from stance.tagging import TagOptions, tag_corpus

    options = TagOptions(
        columns=InputColumns(
            args.text_column, args.title_column, args.target_column, args.id_column
        ),
        target=args.target,
        keep=tuple(c.strip() for item in args.keep for c in item.split(",") if c.strip()),
        batch_size=args.batch_size,
        fmt=args.format,
        encoding=args.encoding,
        jobs=max(1, args.jobs),
        restart=args.restart,
        backend=args.backend,
    )
    if args.engine == "dask" or args.scheduler or args.cluster:  # a cluster: stance.distributed
        if args.backend is not None:
            from stance.errors import ConfigError

            raise ConfigError("--backend is not supported with --engine dask yet; tag locally")
        from stance.distributed import run_tag_cli

        return run_tag_cli(args, options)
    summary = tag_corpus(
        args.model,
        args.corpus,
        args.out,
        options,
        trusted=args.trust,
        progress=not args.no_progress,
    )
    for note in summary.notes:
        print(f"warning: {note}", file=sys.stderr)
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary.status_counts.items()))
    resumed = f" ({summary.resumed_batches} batches resumed)" if summary.resumed_batches else ""
    print(
        f"tagged {summary.rows} rows in {summary.batches} batches{resumed} -> {summary.out} "
        f"[{counts}]{_throughput(summary.rows, summary.predict_seconds)}",
        file=sys.stderr,
    )
    return 0


def _throughput(rows: int, predict_seconds: float) -> str:
    """', N articles/s predicting' (an encoder model's speed is worth seeing), or ''."""
    return f", {rows / predict_seconds:.1f} articles/s predicting" if predict_seconds > 0 else ""


run_predict = _guarded("predict", _predict_body)
run_tag = _guarded("tag", _tag_body)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry (``python -m stance.predict_cli``) until the dispatcher wires it in."""
    parser = argparse.ArgumentParser(prog="stance")
    sub = parser.add_subparsers(dest="command", required=True)
    add_predict_parser(sub)
    add_tag_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
