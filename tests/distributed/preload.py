"""Ray worker set-up hook for the tests: import torch, transformers and the evaluator when Ray starts a worker
process, so that actors (which land on Ray's pre-started idle workers) skip the ~5 s of imports each test would
otherwise pay several times over."""


def preload() -> None:
    import torch  # noqa: F401
    import transformers  # noqa: F401

    import evaluator.engine.distributed  # noqa: F401
