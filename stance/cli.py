"""Command-line entry points.

``stance-run`` is the Hydra app (one experiment, or a sweep with ``-m``).
``stance`` dispatches subcommands (``data``, ``predict``, ``tag``, ``rerun``, ``label``);
each subcommand's module is imported only when it is used, so
``stance predict`` starts fast.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence

from stance.errors import StanceError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _raise_interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt(f"signal {signum}")


#: What to change when a run or a batch does not fit in memory (one line, no traceback).
OUT_OF_MEMORY = (
    "ran out of memory; nothing was written. Make the feature space smaller "
    "(a smaller features.max_features; features=claim_pair instead of target_conditioned "
    "when the corpus has many distinct targets) or, for stance predict / tag, a smaller "
    "--batch-size"
)


def _fail(message: str, code: int = EXIT_USER_ERROR) -> None:
    print(f"stance: error: {message}", file=sys.stderr)
    sys.exit(code)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001, ARG001
    print(f"stance: warning: {message}", file=sys.stderr)


def run_main() -> None:
    """``stance-run``: compose the Hydra config, run the experiment, print the headline."""
    import warnings

    import hydra
    from omegaconf import DictConfig

    from stance.paths import conf_dir

    signal.signal(signal.SIGTERM, _raise_interrupt)
    # Overrides are checked (and `~` in paths expanded) before Hydra sees them, so a
    # typo is one line with a suggestion, not Hydra's multi-line error.
    from stance.config_check import check_overrides

    try:
        sys.argv[1:] = check_overrides(sys.argv[1:], conf_dir())
    except StanceError as exc:
        _fail(str(exc))
    # Data warnings (e.g. rows dropped for empty text) as one line, not file:line + source.
    warnings.showwarning = _one_line_warning

    @hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
    def _app(cfg: DictConfig) -> float | None:
        from hydra.core.hydra_config import HydraConfig

        from stance.experiment import run_experiment

        run_dir = HydraConfig.get().runtime.output_dir
        try:
            result = run_experiment(cfg, run_dir)
        except StanceError as exc:
            _fail(str(exc))
        except MemoryError:
            _fail(OUT_OF_MEMORY)
        except KeyboardInterrupt:
            _fail("interrupted; the incomplete run directory was removed", EXIT_INTERRUPTED)
        return float(result.metrics["headline"]["value"])

    _app()


def _add_rerun_parser(subparsers) -> None:
    parser = subparsers.add_parser("rerun", help="repeat a finished run from its run.json")
    parser.add_argument("run_dir", help="a complete run directory (holds run.json)")
    parser.add_argument(
        "--out", default=None, help="where to write the new run (default: beside it)"
    )

    def _rerun(args: argparse.Namespace) -> int:
        from pathlib import Path

        from stance.experiment import rerun

        result = rerun(Path(args.run_dir), Path(args.out) if args.out else None)
        print(result.run_dir)
        return 0

    parser.set_defaults(func=_rerun)


def _subcommands() -> dict[str, Callable]:
    """Name → function registering that subcommand (imports deferred until needed)."""

    def data(sub):
        from stance.data.cli import add_parser

        add_parser(sub)

    def predict(sub):
        from stance.predict_cli import add_predict_parser

        add_predict_parser(sub)

    def tag(sub):
        from stance.predict_cli import add_tag_parser

        add_tag_parser(sub)

    def label(sub):
        from stance.labeling.cli import add_parser

        add_parser(sub)

    return {
        "data": data,
        "predict": predict,
        "tag": tag,
        "rerun": _add_rerun_parser,
        "label": label,
    }


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stance",
        description="Stance toward actors in news articles: data, prediction and tagging. "
        "Experiments run with `stance-run` (Hydra).",
    )
    from stance import __version__

    parser.add_argument("--version", action="version", version=f"stance {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, register in _subcommands().items():
        if only is None or only == name:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``stance COMMAND ...``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    known = _subcommands()
    parser = build_parser(argv[0] if argv and argv[0] in known else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except StanceError as exc:
        print(f"stance: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:
        print(f"stance: error: {OUT_OF_MEMORY}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("stance: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
