"""Run in a child process by test_out_of_memory: score under a real memory limit (RLIMIT_AS) that the first,
oversized batch exceeds, and print what happened as JSON. A child, because the limit cannot be lifted again."""
import json
import resource
import sys

from evaluator.engine.runners import ChoiceRequest
from evaluator.engine.runners.transformers_backend import TransformersRunner


def main(model: str, headroom_mb: int) -> None:
    requests = [ChoiceRequest("请回答以下单选题。" + "患者发热咳嗽" * 40 + f"{k}\n" + "A. 甲\nB. 乙\n" * 30 + "答案：",
                              ["A", "B"], prefix_group=str(k // 5)) for k in range(400)]
    expected = TransformersRunner(model, device="cpu", token_budget=2000).letter_scores(requests[:10])
    runner = TransformersRunner(model, device="cpu", token_budget=10**7)  # one batch of everything
    with open("/proc/self/status") as status:
        vm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
    limit = (vm_kb + headroom_mb * 1024) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    got = runner.letter_scores(requests)
    print(json.dumps({"oom_splits": runner.info.counters["oom_splits"], "token_budget": runner.token_budget,
                      "rows": len(got),
                      "max_diff": max(abs(a[k] - b[k]) for a, b in zip(got[:10], expected) for k in a)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
