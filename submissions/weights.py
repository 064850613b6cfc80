"""Which weight files a model really loads, decided the way transformers decides, and what the worker downloads.

Why: a hub repository can hold several sets of weights. Judging "a ``.safetensors`` file exists" let a tiny decoy
``.safetensors`` stand beside a pickle ``pytorch_model.bin``: intake measured the decoy, and transformers loaded the
pickle (pickle can run code when loaded). Intake (``submissions.checks``) and the worker (``evaluator.engine.model_fetch``)
therefore share this one decision:

- The weights are the safetensors transformers picks in a local folder with ``use_safetensors=True``: the file named
  by config.json's ``transformers_weights`` when set, else ``model.safetensors``, else the shards listed in
  ``model.safetensors.index.json``. Every listed shard must exist in the repository and be a ``.safetensors`` file.
- Pickle files (``*.bin``, ``*.pt``, ...) beside those weights are ignored: the worker's download allow-list
  (:func:`download_patterns`) names only the weights above plus the small files a model needs to load (config,
  tokenizer, chat template, generation config, remote code), so a pickle is never downloaded, hence never loaded.
  A repository whose only weights are pickles, or whose index or ``transformers_weights`` points at one, is refused.
"""
from __future__ import annotations

import glob
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from huggingface_hub.utils import SafetensorsFileMetadata

SAFE_SINGLE = "model.safetensors"
SAFE_INDEX = "model.safetensors.index.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# small top-level files a causal LM needs to load: configs, tokenizer (json/txt vocabularies, sentencepiece and
# tiktoken models), chat templates, and remote code (run only when an organizer allowed this exact commit)
SUPPORT_SUFFIXES = (".json", ".txt", ".model", ".tiktoken", ".jinja", ".py")
CHAT_TEMPLATE_FOLDER = "chat_templates/"

ReadJson = Callable[[str], dict[str, Any]]


class WeightsError(ValueError):
    """The repository's weights cannot be loaded safely; the message is one plain sentence for the submitter."""


@dataclass(frozen=True)
class WeightPlan:
    """The weights transformers will load: the safetensors files, and the index naming them when sharded."""

    shards: tuple[str, ...]
    index: str | None = None
    ignored_pickles: tuple[str, ...] = ()

    def describe(self) -> str:
        """One sentence for the submitter: what is loaded, and which pickle files are ignored."""
        if self.index:
            loaded = f"{len(self.shards)} safetensors shard{'s' if len(self.shards) != 1 else ''} listed in {self.index}"
        else:
            loaded = self.shards[0]
        text = f"Weights: {loaded}."
        if self.ignored_pickles:
            text += (f" Pickle files beside them ({_sample(self.ignored_pickles)}) are ignored: the evaluator never "
                     "downloads them.")
        return text


def _sample(names: Collection[str], limit: int = 3) -> str:
    ordered = sorted(names)
    more = f", ... ({len(ordered) - limit} more)" if len(ordered) > limit else ""
    return ", ".join(ordered[:limit]) + more


def is_pickle(name: str) -> bool:
    """A file transformers could only load with pickle: a pickle checkpoint or the index of pickle shards."""
    return name.endswith(PICKLE_SUFFIXES) or name.endswith(tuple(f"{s}.index.json" for s in PICKLE_SUFFIXES))


def _explicit_weights(read_json: ReadJson, files: Collection[str]) -> str | None:
    """config.json's ``transformers_weights`` (transformers loads that file first), or None."""
    if "config.json" not in files:
        return None
    try:
        config = read_json("config.json")
    except (ValueError, UnicodeDecodeError):
        return None  # the config check reports it; transformers cannot load such a model anyway
    name = config.get("transformers_weights")
    if name is None:
        return None
    if not isinstance(name, str) or not name.endswith((".safetensors", ".safetensors.index.json")):
        raise WeightsError(f"config.json names the weights {str(name)[:100]!r} (transformers_weights), which are "
                           "not safetensors: pickle weights can run code when loaded, so they are refused.")
    if name not in files:
        raise WeightsError(f"config.json names the weights {name[:100]!r} (transformers_weights), which are not in "
                           "the repository.")
    return name


def _shards_of(index_name: str, read_json: ReadJson, files: Collection[str]) -> tuple[str, ...]:
    try:
        index = read_json(index_name)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{index_name} cannot be read: {exc}.") from exc
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map or not all(isinstance(v, str) for v in weight_map.values()):
        raise WeightsError(f"{index_name} has no weight_map naming its shards.")
    shards = set(weight_map.values())
    unsafe = {s for s in shards if not s.endswith(".safetensors")}
    if unsafe:
        raise WeightsError(f"{index_name} lists shards that are not safetensors ({_sample(unsafe)}): pickle weights "
                           "can run code when loaded, so they are refused. Convert every shard to safetensors.")
    missing = shards - set(files)
    if missing:
        raise WeightsError(f"{index_name} lists shards that are not in the repository ({_sample(missing)}).")
    return tuple(sorted(shards))


def plan_weights(files: Collection[str], read_json: ReadJson) -> WeightPlan:
    """The weights transformers loads from a repository holding ``files`` (see the module docstring).

    ``read_json(name)`` returns a small JSON file of the same commit (config.json, the index); it may raise
    ValueError for a file that is not a JSON object. Raises WeightsError with the reason when nothing safe loads.
    """
    files = set(files)
    pickles = tuple(sorted(f for f in files if is_pickle(f)))
    chosen = _explicit_weights(read_json, files)
    if chosen is None:
        chosen = SAFE_SINGLE if SAFE_SINGLE in files else SAFE_INDEX if SAFE_INDEX in files else None
    if chosen is None:
        others = sorted(f for f in files if f.endswith(".safetensors"))
        if pickles:
            besides = f" ({_sample(others)} would not be loaded)" if others else ""
            raise WeightsError(f"Only pickle weights are loadable ({_sample(pickles)}){besides}: pickle files can run "
                               f"code when loaded, so they are refused. Convert the weights to safetensors "
                               f"({SAFE_SINGLE}, or shards listed in {SAFE_INDEX}).")
        if others:
            raise WeightsError(f"No {SAFE_SINGLE} or {SAFE_INDEX}, so transformers would not load "
                               f"{_sample(others)}. Name the weights {SAFE_SINGLE}, or list the shards in {SAFE_INDEX}.")
        raise WeightsError(f"No weight files ({SAFE_SINGLE} or {SAFE_INDEX}) found at this revision.")
    if chosen.endswith(".index.json"):
        return WeightPlan(shards=_shards_of(chosen, read_json, files), index=chosen, ignored_pickles=pickles)
    return WeightPlan(shards=(chosen,), ignored_pickles=pickles)


def _is_support_file(name: str) -> bool:
    if name.startswith(CHAT_TEMPLATE_FOLDER):
        return name.endswith(".jinja") and "/" not in name[len(CHAT_TEMPLATE_FOLDER):]
    return "/" not in name and name.endswith(SUPPORT_SUFFIXES) and not name.endswith(".index.json")


def download_patterns(files: Collection[str], plan: WeightPlan) -> list[str]:
    """The ``allow_patterns`` of the worker's download: the planned weights and index, and the support files.

    Exact names (glob characters escaped), so nothing else of the repository, pickles above all, is fetched."""
    wanted = {f for f in files if _is_support_file(f)} | set(plan.shards)
    if plan.index:
        wanted.add(plan.index)
    return sorted(glob.escape(name) for name in wanted)


def parameter_count(headers: Mapping[str, SafetensorsFileMetadata]) -> int:
    """Parameters over all loaded shards, from their safetensors headers (the submitter cannot choose the figure).

    A negative or non-integer dimension is refused: it could hide the size of other tensors in the sum."""
    total = 0
    for name, header in headers.items():
        for tensor in header.tensors.values():
            if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in tensor.shape):
                raise WeightsError(f"{name} has a tensor with an invalid shape {tensor.shape!r}.")
            count = 1
            for dim in tensor.shape:
                count *= dim
            total += count
    return total
