"""Run a torch encoder through ONNX Runtime, optionally int8-quantised, for faster CPU inference.

Why: on two CPU cores the MiniLM forward pass is nearly all of the time spent
tagging an archive (issue 16). The graph is exported with eager attention and
fused by ``onnxruntime.transformers`` (embedding layer norm, bias + GELU; see
:func:`_fuse` for the two fusions left out on purpose); ``onnx-int8`` then
quantises the MatMul weights to int8 per channel (dynamic quantisation;
embeddings and layer norms stay float32). Measured with
``experiments/bench_inference.py --encoders`` on the Russia-US articles (see
experiments/RESULTS.md, "Encoder inference on CPU").

The exported graph is a cache, never part of a saved model: it lives under
``<stance cache dir>/onnx/<sha256 of the weights + backend + graph kind>.onnx``,
written to a temporary file and moved into place, so concurrent workers never
read half a file. The graph is rebuilt from the torch weights whenever the
cache is empty. Both encoder estimators take ``backend="torch" | "onnx" |
"onnx-int8"``; torch (the default) leaves their predictions untouched.

Needs the ``[onnx]`` extra (onnxruntime + onnx); torch is needed once, to export.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import warnings
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from stance.errors import ConfigError, StanceError
from stance.extras import install_command
from stance.paths import default_cache_dir

BACKENDS = ("torch", "onnx", "onnx-int8", "onnx-int8-mixed")
#: Encoder layers ``onnx-int8-mixed`` keeps in float32, counted from the last one.
MIXED_FLOAT_LAYERS = 1
GRAPH_KINDS = ("mean_pooled", "logits")
#: Bumped when the export recipe changes, so stale cached graphs are not reused.
EXPORT_VERSION = "3"
#: Encoder families whose exported graph onnxruntime.transformers fuses as BERT.
FUSABLE = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra"})
_OPSET = 17
_lock = threading.Lock()
#: Intra-op threads per session; None lets ONNX Runtime use one per physical core.
_threads: int | None = None


def set_session_threads(threads: int | None) -> None:
    """Threads each ONNX Runtime session created from now on uses (None: one per core).

    ``stance tag --jobs N`` gives each of its N workers ``cores // N`` threads, so
    the workers do not oversubscribe the machine.
    """
    global _threads
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    _threads = threads


class MissingOnnxError(StanceError, ImportError):
    """The ``[onnx]`` extra is not installed (a StanceError: the CLI prints one line)."""


def require_onnx(backend: str) -> None:
    """Fail with the install hint when onnxruntime / onnx are missing."""
    import importlib.util

    missing = [m for m in ("onnxruntime", "onnx") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingOnnxError(
            f"backend={backend} needs {', '.join(missing)}: {install_command('onnx')}"
        )


def check_backend(backend: Any) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else a one-line ConfigError."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
    return str(backend)


def onnx_cache_dir() -> Path:
    """Where exported graphs go: ``<stance cache dir>/onnx``."""
    return default_cache_dir() / "onnx"


_digests: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def weights_digest(module: Any) -> str:
    """SHA-256 of a torch module's parameters and buffers (names, dtypes, shapes, bytes).

    Remembered per module object (hashing MiniLM takes ~0.2 s, and a tagging job asks
    once per batch): modules handed to the ONNX backends are inference-only, never
    trained further in place.
    """
    known = _digests.get(module)
    if known is not None:
        return known
    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        array = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}|{array.dtype}|{tuple(array.shape)}\n".encode())
        digest.update(array.reshape(-1).view(torch.uint8).numpy().tobytes())
    _digests[module] = digest.hexdigest()
    return _digests[module]


class OnnxSession:
    """An ONNX Runtime session for one exported encoder: feed numpy int64 inputs, get an array."""

    def __init__(self, path: Path, input_names: tuple[str, ...], threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        # Idle worker threads sleep instead of spinning: on a shared machine spinning burns
        # ~30% more CPU-seconds for the same vectors (measured on MiniLM, 2 cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path
        self.input_names = input_names
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        """The graph's single output for ``feeds`` (only the inputs the graph declares)."""
        inputs = {name: np.asarray(feeds[name], dtype=np.int64) for name in self.input_names}
        return self._session.run(None, inputs)[0]


def encoder_session(
    module: Any, kind: str, backend: str, input_names: tuple[str, ...], cache: Path | None = None
) -> OnnxSession:
    """A session running ``module`` (a Hugging Face model) as ``kind`` under ``backend``.

    ``kind="mean_pooled"``: ``module`` is a bare encoder (``BertModel``); the graph
    returns the attention-masked mean of its last hidden states (sentence-transformers'
    mean pooling, before normalisation). ``kind="logits"``: ``module`` is a sequence
    classifier; the graph returns its logits. The graph is exported (and quantised
    for ``onnx-int8``) on first use and cached on disk by the weights' hash.
    """
    check_backend(backend)
    if backend == "torch":
        raise ValueError("encoder_session is for the onnx backends")
    if kind not in GRAPH_KINDS:
        raise ValueError(f"kind must be one of {GRAPH_KINDS}, got {kind!r}")
    require_onnx(backend)
    folder = cache or onnx_cache_dir()
    key = hashlib.sha256(
        f"{weights_digest(module)}|{kind}|{','.join(input_names)}|{EXPORT_VERSION}".encode()
    ).hexdigest()[:32]
    fp32 = folder / f"{key}-onnx.onnx"
    path = fp32 if backend == "onnx" else folder / f"{key}-{backend}.onnx"
    # One export (and one session cache update) at a time in this process; os.replace
    # guards across processes.
    with _lock:
        if not path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            if not fp32.is_file():
                _publish(fp32, lambda tmp: _export(module, kind, input_names, tmp))
            if path != fp32:
                float_layers = MIXED_FLOAT_LAYERS if backend == "onnx-int8-mixed" else 0
                _publish(path, lambda tmp: _quantize(fp32, tmp, float_layers))
        return _cached_session(str(path), input_names)


_SESSIONS_KEPT = 4
_sessions: dict[tuple[str, tuple[str, ...], int | None], OnnxSession] = {}
_sessions_pid = os.getpid()
#: Sessions a forked worker inherited. Never freed: destroying an ONNX Runtime session
#: whose thread pool stayed in the parent blocks forever, and using it is unsafe too.
_inherited: list[dict] = []


def _cached_session(path: str, input_names: tuple[str, ...]) -> OnnxSession:
    """One session per graph, input names and thread count, made in this very process."""
    global _sessions, _sessions_pid
    if os.getpid() != _sessions_pid:  # a forked worker: start afresh, keep the parent's
        _inherited.append(_sessions)
        _sessions, _sessions_pid = {}, os.getpid()
    key = (path, input_names, _threads)
    if key not in _sessions:
        if len(_sessions) >= _SESSIONS_KEPT:
            _sessions.pop(next(iter(_sessions)))
        _sessions[key] = OnnxSession(Path(path), input_names, _threads)
    return _sessions[key]


def clear_session_cache() -> None:
    """Forget this process's sessions (the next call to :func:`encoder_session` makes new ones)."""
    _sessions.clear()


def _publish(path: Path, write) -> None:
    """Write ``path`` through a temporary file in the same folder and move it into place."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.onnx")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _export(
    module: Any,
    kind: str,
    input_names: tuple[str, ...],
    dest: Path,
    switches: Mapping[str, bool] | None = None,
) -> None:
    """Export ``module`` to ``dest``, with ONNX Runtime's transformer fusions where they apply
    (``switches``: see :func:`_fuse`)."""
    import torch

    wrapper = _graph_class()(module, kind, input_names).eval()
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    raw = dest.with_name(dest.name + ".raw.onnx")
    # Eager attention exports as plain MatMul/Softmax, the pattern ONNX Runtime fuses into
    # one Attention op (torch's SDPA does not fuse); switched back so torch's own numbers stay.
    attention = getattr(module.config, "_attn_implementation", None)
    _set_attention(module, "eager")
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            # The TorchScript exporter: the dynamo one needs onnxscript, one more dependency.
            torch.onnx.export(
                wrapper,
                example,
                str(raw),
                input_names=list(input_names),
                output_names=["output"],
                dynamic_axes={**axes, "output": {0: "batch"}},
                opset_version=_OPSET,
                dynamo=False,
            )
        _fuse(raw, dest, module.config, SKIPPED_FUSIONS if switches is None else switches)
    finally:
        if attention is not None:
            _set_attention(module, attention)
        raw.unlink(missing_ok=True)


def _set_attention(module: Any, implementation: str) -> None:
    setter = getattr(module, "set_attn_implementation", None)
    if setter is not None:
        setter(implementation)
    else:  # older transformers
        module.config._attn_implementation = implementation


#: onnxruntime.transformers fusions switched off (see :func:`_fuse`).
SKIPPED_FUSIONS: Mapping[str, bool] = {"enable_attention": False, "enable_skip_layer_norm": False}


def _fuse(
    source: Path, dest: Path, config: Any, switches: Mapping[str, bool] = SKIPPED_FUSIONS
) -> None:
    """Fuse the embedding layer norm and bias + GELU (onnxruntime.transformers) for BERT-likes.

    Two of the optimizer's default fusions are left out (``switches``) because they
    were slower here (MiniLM, int8, one thread; ``experiments/bench_onnx_fusions.py``,
    which passes other ``switches``): the fused ``Attention`` op (quantised as
    ``QAttention``) and ``SkipLayerNormalization``. Without them, sentences of ~26
    tokens encode ~1.2x faster; 256-token windows 1.1x faster on one thread, 0.9x on
    two. ONNX Runtime still fuses some residual adds and layer norms itself when it
    loads the graph. Other architectures are copied unfused.
    """
    import logging
    import shutil

    if getattr(config, "model_type", None) not in FUSABLE:
        shutil.copyfile(source, dest)
        return
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    for name, value in switches.items():
        setattr(options, name, value)

    quiet = [logging.getLogger(name) for name in ("onnxruntime", "fusion", "onnx_model")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    try:
        fused = optimizer.optimize_model(
            str(source),
            model_type="bert",
            num_heads=int(config.num_attention_heads),
            hidden_size=int(config.hidden_size),
            optimization_options=options,
        )
        fused.save_model_to_file(str(dest))
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)


def _quantize(source: Path, dest: Path, float_layers: int = 0) -> None:
    """int8 weights per channel; the MatMuls of the last ``float_layers`` encoder layers
    stay float32 (``onnx-int8-mixed``).

    Why mixed: on the pinned Russia-US model, int8 everywhere moved 14 of 552 labels
    (out-of-fold macro-F1 -0.65 against torch); with the last layer in float32, -0.20 at
    26 articles/s instead of 34 (``experiments/bench_inference.py --model-run``).
    """
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    exclude = _last_layer_nodes(onnx.load(str(source)), float_layers) if float_layers else []
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing before quantization"
    try:
        quantize_dynamic(
            str(source),
            str(dest),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Attention"],
            nodes_to_exclude=exclude,
            # The fused ops live in the com.microsoft domain, which shape inference skips.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)


def _last_layer_nodes(model: Any, layers: int) -> list[str]:
    """Names of the MatMul nodes in the last ``layers`` encoder layers of an exported graph.

    Relies on the exporter's node names (``/model/encoder/layer.5/...`` for Hugging Face
    encoders); a graph without such names is refused rather than silently all int8.
    """
    pattern = re.compile(r"/layer\.(\d+)/")
    found = [
        (int(m.group(1)), node.name)
        for node in model.graph.node
        if node.op_type in ("MatMul", "Attention") and (m := pattern.search(node.name))
    ]
    if not found:
        raise StanceError("onnx-int8-mixed: no encoder layers found in the exported graph")
    last = max(index for index, _ in found)
    return [name for index, name in found if index > last - layers]


def _graph_class():
    import torch

    class Graph(torch.nn.Module):
        """The exported function: named int64 inputs in, one float tensor out."""

        def __init__(self, model: Any, kind: str, input_names: tuple[str, ...]):
            super().__init__()
            self.model, self.kind, self.input_names = model, kind, input_names

        def forward(self, *inputs):
            feeds = dict(zip(self.input_names, inputs, strict=True))
            out = self.model(**feeds)
            if self.kind == "logits":
                return out.logits
            mask = feeds["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
            summed = (out.last_hidden_state * mask).sum(dim=1)
            return summed / mask.sum(dim=1).clamp(min=1e-9)

    return Graph


def set_backend(pipeline: Any, backend: str) -> list[str]:
    """Set ``backend`` on every step of a loaded model that has the parameter.

    Returns the parameter names set. A model with no encoder step accepts only
    ``torch`` (the default): asking it for ``onnx`` is an error, not a no-op.
    """
    check_backend(backend)
    params = pipeline.get_params(deep=True) if hasattr(pipeline, "get_params") else {}
    names = [k for k in params if k == "backend" or k.endswith("__backend")]
    if not names:
        if backend != "torch":
            raise ConfigError(
                f"backend={backend}: this model has no encoder step (sentence embeddings "
                "or model=transformer) to run through ONNX Runtime"
            )
        return []
    if backend != "torch":
        require_onnx(backend)
    pipeline.set_params(**dict.fromkeys(names, backend))
    return names
