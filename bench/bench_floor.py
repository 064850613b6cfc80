"""The evaluator's letter-scoring stage against the real floor: a plain batched loop written here.

The floor is what anyone would write in about 40 lines (``floor_scores``): left-padded batches of a fixed size,
sorted by length, one forward pass each keeping only the last position's logits, log-softmax, read the letter
tokens. No prefix sharing, no database, no chunking. The evaluator side is ``execute_run`` on a real SQLite
database with the runner already loaded (exactly the scoring stage of ``cli.py eval run``).

Two item sets, both Med-Exam single-choice items asked in K orders (options last, as the evaluator writes them):

- short: 200 exam items with short stems (CMMLU-style, generated from varied Chinese templates);
- case: long case items (a 300-800 character case, then a short question and the options).

Model: a Qwen2-architecture model of about 34M parameters with a 32k vocabulary (a byte-level BPE trained on the
project's text, the output layer padded to 32,000 rows), random weights, fp32, CPU. The two sides alternate over
``--rounds`` rounds with the same torch threads; each side's fastest round is reported (the machine is shared).

With ``--protocol generate`` the same item sets are answered in text (the official protocol): the evaluator's
generation stage (an item's stem prefilled once for its K orders where that pays) against the plain floor of
generation, ``floor_generate``: left-padded batches of a fixed size, sorted by length, ``model.generate`` greedy with
the run's ``max_new_tokens`` and stop strings, no prefix sharing, no early stop. Agreement is then the share of
identical outputs (and of identical extracted answers).

Also measured: where ``cli.py eval run`` spends its time before scoring starts (``--startup``): interpreter plus
imports, database, model and tokenizer load, each timed in a fresh process.

    .venv/bin/python bench/bench_floor.py [--rounds 3 --threads 2 --k 5 --short 200 --case 60]
    .venv/bin/python bench/bench_floor.py --protocol generate --threads 1 --short 40 --case 20 --rounds 2
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LETTERS = list("ABCDE")
VOCAB = 32000

# ----- items ---------------------------------------------------------------------------------------------------------
DISEASES = ["社区获得性肺炎", "急性心肌梗死", "2型糖尿病", "原发性高血压", "慢性阻塞性肺疾病", "支气管哮喘", "急性胰腺炎",
            "消化性溃疡", "肝硬化", "急性肾小球肾炎", "缺铁性贫血", "甲状腺功能亢进症", "类风湿关节炎", "系统性红斑狼疮",
            "脑梗死", "蛛网膜下腔出血", "急性阑尾炎", "胆囊结石", "肺结核", "心力衰竭", "房颤", "痛风", "帕金森病",
            "癫痫", "肾病综合征", "急性白血病", "乳腺癌", "胃癌", "结肠癌", "病毒性心肌炎"]
DRUGS = ["阿司匹林", "华法林", "二甲双胍", "胰岛素", "硝苯地平", "卡托普利", "美托洛尔", "呋塞米", "地高辛", "阿莫西林",
         "头孢曲松", "左氧氟沙星", "异烟肼", "利福平", "奥美拉唑", "泼尼松", "甲巯咪唑", "左甲状腺素", "氯吡格雷",
         "阿托伐他汀", "苯妥英钠", "丙戊酸钠", "吗啡", "肝素", "螺内酯"]
TESTS = ["胸部X线片", "心电图", "血清淀粉酶", "糖化血红蛋白", "腹部超声", "头颅CT", "冠状动脉造影", "肺功能检查",
         "骨髓穿刺", "胃镜检查", "结肠镜检查", "血培养", "尿常规", "甲状腺功能", "肌钙蛋白", "D-二聚体", "痰涂片抗酸染色"]
SYMPTOMS = ["发热", "咳嗽", "咳痰", "胸痛", "呼吸困难", "腹痛", "恶心呕吐", "腹泻", "头痛", "头晕", "乏力", "心悸",
            "水肿", "关节痛", "皮疹", "多饮多尿", "体重下降", "黄疸", "便血", "意识障碍"]
EFFECTS = ["干咳", "低钾血症", "高钾血症", "牙龈增生", "出血", "乳酸酸中毒", "低血糖", "周围神经炎", "肝损害",
           "粒细胞减少", "心动过缓", "耳毒性", "骨质疏松", "横纹肌溶解", "呼吸抑制"]
SHORT_STEMS = [
    "患者，{sex}，{age}岁，{s1}{d}天，伴{s2}。最可能的诊断是",
    "{dis}最常见的首发症状是",
    "诊断{dis}最有价值的检查是",
    "治疗{dis}的首选药物是",
    "{drug}最常见的不良反应是",
    "下列关于{dis}的叙述，错误的是",
    "{age}岁{sex}性患者，确诊{dis}{d}年，近来出现{s1}，应首先考虑",
    "长期服用{drug}的患者，需要定期监测的项目是",
    "{dis}患者出现{s1}时，最恰当的处理是",
    "引起{s1}伴{s2}的最常见疾病是",
]
CASE_SENTENCES = [
    "患者{d}天前无明显诱因出现{s1}，呈持续性，程度逐渐加重，伴{s2}，无{s3}。",
    "自服{drug}后症状无明显缓解，遂来我院就诊，门诊以“{s1}待查”收入院。",
    "起病以来，精神、食欲欠佳，睡眠差，大便{stool}，小便正常，体重下降约{kg}kg。",
    "既往有{dis}病史{y}年，规律服用{drug}治疗，否认肝炎、结核等传染病史，否认手术、外伤及输血史。",
    "吸烟{y}年，每日约{cig}支，偶饮酒。否认药物及食物过敏史。家族中父亲患{dis}。",
    "体格检查：体温{t}℃，脉搏{p}次/分，呼吸{r}次/分，血压{sbp}/{dbp}mmHg，神志清楚，急性病容。",
    "双肺呼吸音{lung}，心率{p}次/分，律齐，各瓣膜听诊区未闻及病理性杂音，腹软，{abd}，双下肢{edema}。",
    "辅助检查：血常规示白细胞{wbc}×10⁹/L，中性粒细胞比例{neu}%，血红蛋白{hb}g/L，血小板{plt}×10⁹/L。",
    "血生化：谷丙转氨酶{alt}U/L，肌酐{cr}μmol/L，血钾{k}mmol/L，空腹血糖{glu}mmol/L。{test}提示异常。",
    "入院后给予对症支持治疗，{h}小时后患者再次出现{s2}，复查{test}较前进展。",
]
CASE_QUESTIONS = ["该患者最可能的诊断是", "为明确诊断，首选的检查是", "该患者目前最恰当的治疗是",
                  "该患者病情变化最可能的原因是", "下列处理中，不恰当的是"]


def _fill(rng: random.Random, template: str) -> str:
    values = {"sex": rng.choice("男女"), "age": rng.randint(18, 85), "d": rng.randint(1, 30), "y": rng.randint(2, 20),
              "s1": rng.choice(SYMPTOMS), "s2": rng.choice(SYMPTOMS), "s3": rng.choice(SYMPTOMS),
              "dis": rng.choice(DISEASES), "drug": rng.choice(DRUGS), "test": rng.choice(TESTS),
              "stool": rng.choice(["正常", "干结", "稀溏", "呈黑色"]), "kg": rng.randint(1, 10),
              "cig": rng.randint(5, 40), "t": f"{rng.uniform(36.2, 40.1):.1f}", "p": rng.randint(55, 130),
              "r": rng.randint(14, 32), "sbp": rng.randint(90, 190), "dbp": rng.randint(55, 115),
              "lung": rng.choice(["清", "粗", "减弱，可闻及湿啰音", "可闻及哮鸣音"]),
              "abd": rng.choice(["无压痛及反跳痛", "上腹部压痛", "右下腹压痛、反跳痛", "肝肋下2cm"]),
              "edema": rng.choice(["无水肿", "轻度凹陷性水肿", "明显水肿"]), "wbc": f"{rng.uniform(2, 25):.1f}",
              "neu": rng.randint(40, 95), "hb": rng.randint(60, 160), "plt": rng.randint(40, 450),
              "alt": rng.randint(10, 300), "cr": rng.randint(40, 600), "k": f"{rng.uniform(2.8, 6.5):.1f}",
              "glu": f"{rng.uniform(3.5, 20):.1f}", "h": rng.randint(2, 48)}
    return template.format(**values)


def _options(rng: random.Random, question: str) -> dict[str, str]:
    pool = DRUGS if "药物" in question else EFFECTS if "不良反应" in question else \
        TESTS if ("检查" in question or "监测" in question) else DISEASES
    return dict(zip(LETTERS, rng.sample(pool, len(LETTERS))))


def short_items(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` CMMLU-style exam items: one-line stems from varied templates, 5 options."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        question = _fill(rng, rng.choice(SHORT_STEMS))
        items.append({"id": f"short-{i:04d}", "task": "Med-Exam", "question": question,
                      "options": _options(rng, question), "answer": [rng.choice(LETTERS)]})
    return items


def case_items(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` case items: a generated case of 300-800 characters, then a short question and 5 options last."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        target = rng.randint(300, 800)
        case = f"患者，{rng.choice('男女')}，{rng.randint(18, 85)}岁，因“{rng.choice(SYMPTOMS)}{rng.randint(1, 30)}天”入院。"
        while len(case) < target:
            sentence = _fill(rng, rng.choice(CASE_SENTENCES))
            if len(case) + len(sentence) > 800:
                break
            case += sentence
        question = rng.choice(CASE_QUESTIONS)
        items.append({"id": f"case-{i:04d}", "task": "Med-Exam", "passage": case, "question": question,
                      "options": _options(rng, question), "answer": [rng.choice(LETTERS)]})
    return items


# ----- model -----------------------------------------------------------------------------------------------------------
def build_model(model_dir: Path) -> Path:
    """A random Qwen2 (hidden 384, 6 layers, 6 heads / 2 KV heads, MLP 1024, untied): about 34M parameters, with
    a byte-level BPE trained on the project's text; the vocabulary is padded to 32,000 rows as real models pad
    theirs, so the output layer costs what a 32k vocabulary costs."""
    if (model_dir / "config.json").is_file():
        return model_dir
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from bench.bench_choice import corpus_texts
    from evaluator.engine.tiny_models import build_tokenizer

    tokenizer = build_tokenizer(model_dir, corpus_texts(), vocab_size=VOCAB)
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=max(VOCAB, len(tokenizer)), hidden_size=384, intermediate_size=1024,
                         num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=2,
                         max_position_embeddings=4096, tie_word_embeddings=False, bos_token_id=None,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model = Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(model_dir, safe_serialization=True)
    return model_dir


# ----- the floor -------------------------------------------------------------------------------------------------------
def floor_scores(model: Any, tokenizer: Any, prompts: list[str], letters: list[str], batch_size: int) -> list[list[float]]:
    """Letter log-probs of every prompt by the plainest batched loop: no prefix sharing, no database."""
    import torch

    letter_ids = [tokenizer(x, add_special_tokens=False)["input_ids"][0] for x in letters]
    encoded = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
    pad = tokenizer.pad_token_id
    scores: list[list[float]] = [[] for _ in prompts]
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            width = max(len(encoded[i]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):  # left padding: the last position is every row's answer slot
                ids[row, width - len(encoded[i]):] = torch.tensor(encoded[i])
                mask[row, width - len(encoded[i]):] = 1
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=1).logits
            logprobs = torch.log_softmax(logits[:, -1].float(), dim=-1)[:, letter_ids]
            for row, i in enumerate(batch):
                scores[i] = logprobs[row].tolist()
    return scores


def floor_generate(model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int, stop: list[str],
                   batch_size: int) -> list[str]:
    """Greedy answers of every prompt by the plainest batched loop: left-padded batches sorted by length,
    ``model.generate`` with the same limit and stop strings, the text cut at the first stop string."""
    import torch

    encoded = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
    pad = tokenizer.pad_token_id
    texts: list[str] = [""] * len(prompts)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            width = max(len(encoded[i]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, width - len(encoded[i]):] = torch.tensor(encoded[i])
                mask[row, width - len(encoded[i]):] = 1
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                                 num_beams=1, pad_token_id=pad, stop_strings=stop, tokenizer=tokenizer)
            for row, i in enumerate(batch):
                text = tokenizer.decode(out[row, width:], skip_special_tokens=True)
                cuts = [text.index(x) for x in stop if x in text]
                texts[i] = text[: min(cuts)] if cuts else text
    return texts


# ----- measuring -------------------------------------------------------------------------------------------------------
class ModelClock:
    """Time spent inside the model's forward calls (outermost call only: the decoder runs inside the model)."""

    def __init__(self, *modules: Any):
        self.seconds, self.depth, self.started = 0.0, 0, 0.0
        for module in {id(m): m for m in modules}.values():
            module.register_forward_pre_hook(self._enter)
            module.register_forward_hook(self._leave)

    def _enter(self, *_: Any) -> None:
        if self.depth == 0:
            self.started = time.perf_counter()
        self.depth += 1

    def _leave(self, *_: Any) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.seconds += time.perf_counter() - self.started

    @contextmanager
    def lap(self) -> Iterator[dict[str, float]]:
        out: dict[str, float] = {}
        model0, t0 = self.seconds, time.perf_counter()
        yield out
        out.update(total=time.perf_counter() - t0, model=self.seconds - model0)


def prefix_stats(tokenizer: Any, prompts: list[str], k: int) -> tuple[float, float]:
    """(tokens per prompt, share of all tokens that lie in the prefix its item's K prompts share)."""
    from evaluator.engine.runners.base import encode_prompts
    from evaluator.engine.runners.batching import common_prefix_len

    encoded = encode_prompts(tokenizer, prompts)
    shared = 0
    for start in range(0, len(encoded), k):
        group = encoded[start:start + k]
        common = min(common_prefix_len(group[0], other) for other in group)
        shared += common * len(group)
    total = sum(map(len, encoded))
    return total / len(encoded), shared / total


class EvaluatorSide:
    """execute_run on a fresh SQLite database per round, with the runner loaded once."""

    def __init__(self, work: Path, name: str, items: list[dict[str, Any]], runner: Any, k: int,
                 protocol: str = "logprob"):
        from sqlmodel import Session

        from common.db import get_engine
        from evaluator.benchmark.suites.importer import import_suite
        from evaluator.engine.tiny_models import folder_sha
        from submissions.tables import ModelEntry

        self.work, self.name, self.runner, self.k, self.rounds = work, name, runner, k, 0
        self.protocol, self.spec = protocol, None
        suite_dir = work / f"suite-{name}"
        suite_dir.mkdir(parents=True, exist_ok=True)
        (suite_dir / "Med-Exam.jsonl").write_text(
            "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
        self.suite_dir, self.sha = suite_dir, folder_sha(runner.info.model_path)
        self._Session, self._get_engine, self._import, self._Entry = Session, get_engine, import_suite, ModelEntry

    def prepare_round(self) -> tuple[Any, int]:
        from evaluator.engine.units import create_run

        self.rounds += 1
        db = self.work / f"db-{self.name}-{self.rounds}.sqlite"
        for stale in self.work.glob(f"db-{self.name}-{self.rounds}.sqlite*"):
            stale.unlink()
        engine = self._get_engine(f"sqlite:///{db}")
        with self._Session(engine) as session:
            suite = self._import(session, self.suite_dir, f"bench-{self.name}")
            entry = self._Entry(hub_id="local/floor-bench", commit_sha=self.sha, precision="float32",
                                local_path=self.runner.info.model_path)
            session.add(entry)
            session.flush()
            run = create_run(session, entry, suite, device="cpu", k=self.k, protocol=self.protocol)
            self.spec = dict(run.run_spec)
            session.commit()
            return engine, run.id

    def results(self, engine: Any, run_id: int) -> tuple[list[str], dict[str, list[float]]]:
        from sqlmodel import select

        from evaluator.tables import ItemResult, SuiteItem

        with self._Session(engine) as session:
            rows = session.exec(select(ItemResult, SuiteItem.item_key).join(SuiteItem, SuiteItem.id == ItemResult.item_id)
                                .where(ItemResult.run_id == run_id)
                                .order_by(ItemResult.item_id, ItemResult.order_index)).all()
        assert all(r.status == "ok" for r, _ in rows), "some rows failed"
        if self.protocol == "generate":
            return [r.prompt for r, _ in rows], {f"{key}#{r.order_index}": r.raw_output or "" for r, key in rows}
        return [r.prompt for r, _ in rows], {f"{key}#{r.order_index}": [r.letter_scores[x] for x in LETTERS]
                                             for r, key in rows}


def compare(work: Path, name: str, items: list[dict[str, Any]], runner: Any, clock: ModelClock,
            args: argparse.Namespace) -> dict[str, Any]:
    """Alternate the evaluator and the floor over ``args.rounds`` rounds; the fastest round of each side."""
    from evaluator.engine.execution import execute_run

    side = EvaluatorSide(work, name, items, runner, args.k, args.protocol)
    generating = args.protocol == "generate"
    calls0 = dict(runner.info.counters)
    best: dict[str, dict[str, float]] = {}
    prompts: list[str] = []
    ours_scores: dict[str, list[float]] = {}
    floor: list[Any] = []
    for round_ in range(args.rounds):
        engine, run_id = side.prepare_round()
        runner.info.counters.update(forward_passes=0)
        with clock.lap() as ours:
            execute_run(run_id, engine=engine, runner=runner)
        if not prompts:
            prompts, ours_scores = side.results(engine, run_id)
        engine.dispose()
        with clock.lap() as plain:
            if generating:
                generation = side.spec["generation"]
                floor = floor_generate(runner.model, runner.tokenizer, prompts, generation["max_new_tokens"]["Med-Exam"],
                                       generation["stop"], args.floor_batch)
            else:
                floor = floor_scores(runner.model, runner.tokenizer, prompts, LETTERS, args.floor_batch)
        for label, lap in (("ours", ours), ("floor", plain)):
            if label not in best or lap["total"] < best[label]["total"]:
                best[label] = lap
        print(f"  {name} round {round_ + 1}: evaluator {ours['total']:.2f}s (model {ours['model']:.2f}s), "
              f"floor {plain['total']:.2f}s (model {plain['model']:.2f}s)", flush=True)
    keys = list(ours_scores)
    per_prompt, shared = prefix_stats(runner.tokenizer, prompts, args.k)
    counters = {k: runner.info.counters[k] - calls0[k] for k in ("shared_generation_calls", "plain_generation_calls")
                if generating} or {k: runner.info.counters[k] - calls0[k] for k in ("shared_prefix_calls", "plain_calls")}
    if generating:
        same_answer = sum(_extracted(ours_scores[key], prompts[i]) ==
                          _extracted(floor[i], prompts[i]) for i, key in enumerate(keys))
        return {"set": name, "prompts": len(prompts), "ours": best["ours"], "floor": best["floor"],
                "agree": sum(ours_scores[key] == floor[i] for i, key in enumerate(keys)), "same_answer": same_answer,
                "tokens": per_prompt, "shared": shared, "passes": runner.info.counters["forward_passes"],
                "calls": counters}
    agree = sum(max(range(5), key=ours_scores[key].__getitem__) == max(range(5), key=floor[i].__getitem__)
                for i, key in enumerate(keys))
    max_diff = max(abs(a - b) for i, key in enumerate(keys) for a, b in zip(ours_scores[key], floor[i]))
    return {"set": name, "prompts": len(prompts), "ours": best["ours"], "floor": best["floor"], "agree": agree,
            "max_diff": max_diff, "tokens": per_prompt, "shared": shared,
            "passes": runner.info.counters["forward_passes"], "calls": counters}


def _extracted(text: str, prompt: str) -> tuple[Any, Any]:
    """What the project's extractor reads from one answer (the letters are those of the prompt's order)."""
    from evaluator.benchmark.scoring.extract import extract

    shown = re.findall(r"^([A-E])[.．、]\s*(.+)$", prompt, flags=re.M)[-5:]
    result = extract(text, "single_choice", [x for x, _ in shown], [t for _, t in shown])
    return result.answer, result.reason


def _rate(side: str) -> Any:
    return lambda r: r["prompts"] / r[side]["total"]


def _overhead(side: str) -> Any:
    return lambda r: 100 * (1 - r[side]["model"] / r[side]["total"])


# (header, width, format, value of one result): the columns both protocols print, then each one's own
_COMMON_COLUMNS = [("tokens/prompt", 14, ".0f", lambda r: r["tokens"]), ("shared %", 9, ".0f", lambda r: 100 * r["shared"]),
                   ("evaluator p/s", 15, ".1f", _rate("ours")), ("floor p/s", 11, ".1f", _rate("floor")),
                   ("ratio", 8, ".2f", lambda r: r["floor"]["total"] / r["ours"]["total"])]
_PROTOCOL_COLUMNS = {
    "generate": [("same output %", 15, ".1f", lambda r: 100 * r["agree"] / r["prompts"]),
                 ("same answer %", 15, ".1f", lambda r: 100 * r["same_answer"] / r["prompts"]),
                 ("overhead %", 12, ".1f", _overhead("ours"))],
    "logprob": [("agreement %", 13, ".1f", lambda r: 100 * r["agree"] / r["prompts"]),
                ("overhead %", 12, ".1f", _overhead("ours")), ("floor ovh %", 13, ".1f", _overhead("floor"))],
}


def print_comparison(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    columns = _COMMON_COLUMNS + _PROTOCOL_COLUMNS[args.protocol]
    print("\n" + f"{'item set':10}" + "".join(f"{header:>{width}}" for header, width, _, _ in columns))
    for r in results:
        print(f"{r['set']:10}" + "".join(f"{value(r):{width}{fmt}}" for _, width, fmt, value in columns))
    for r in results:
        if args.protocol == "generate":
            print(f"{r['set']}: {r['prompts']} prompts, runner calls over all rounds: {r['calls']}")
        else:
            print(f"{r['set']}: {r['prompts']} prompts, largest |log-prob difference| {r['max_diff']:.1e}, "
                  f"runner calls over all rounds: {r['calls']} ({r['passes']} forward passes in the last round)")
    if args.protocol == "generate":
        print("same output: identical generated text (evaluator vs floor); same answer: identical extraction")
        return
    print("shared: share of tokens in the prefix an item's K prompts share; overhead: share of the stage's wall time "
          "outside the model's forward calls (database, tokenization, batching, chunk bookkeeping)")


# ----- start-up --------------------------------------------------------------------------------------------------------
STARTUP_PROBE = r"""
import json, os, sys, time
t0 = time.perf_counter()
marks = {}
import typer  # noqa: F401 - what cli.py imports first
from common.db import get_engine
from evaluator.ops import cli as _cli  # every command module, as `cli.py eval run` registers them
marks["imports (cli, commands)"] = time.perf_counter() - t0
t = time.perf_counter()
engine = get_engine()
marks["database (connect, migrate)"] = time.perf_counter() - t
t = time.perf_counter()
import evaluator.engine.execution  # noqa: F401 - imported by the run command
from evaluator.engine.runners.transformers_backend import TransformersRunner
import torch, transformers  # noqa: F401
marks["imports (run, torch, transformers)"] = time.perf_counter() - t
t = time.perf_counter()
runner = TransformersRunner(sys.argv[1], device="cpu")
marks["model + tokenizer load"] = time.perf_counter() - t
print(json.dumps(marks))
"""


def startup(model_dir: Path, work: Path, rounds: int) -> None:
    """Each part of ``cli.py eval run`` before scoring, in fresh processes (fastest of ``rounds``); then the
    whole command on a 1-item suite, where scoring is negligible, to see the total."""
    shutil.rmtree(work / "startup-data", ignore_errors=True)
    env = {"MEDBENCH_DATA_DIR": str(work / "startup-data"), "OMP_NUM_THREADS": "2", "PYTHONPATH": str(ROOT),
           "TOKENIZERS_PARALLELISM": "false", "PATH": "/usr/bin:/bin"}
    py = sys.executable
    best: dict[str, float] = {}
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run([py, "-c", "pass"], check=True, env=env)
        best["interpreter"] = min(best.get("interpreter", 1e9), time.perf_counter() - t)
        out = subprocess.run([py, "-c", STARTUP_PROBE, str(model_dir)], check=True, env=env, cwd=ROOT,
                             capture_output=True, text=True).stdout
        for key, value in json.loads(out.strip().splitlines()[-1]).items():
            best[key] = min(best.get(key, 1e9), value)
    for key, value in best.items():
        print(f"  {key:38}{value:7.2f}s")
    suite = work / "suite-startup"
    suite.mkdir(parents=True, exist_ok=True)
    (suite / "Med-Exam.jsonl").write_text(json.dumps(short_items(1)[0], ensure_ascii=False) + "\n", encoding="utf-8")
    subprocess.run([py, "cli.py", "eval", "import-suite", str(suite), "--name", "startup", "--activate"],
                   check=True, env=env, cwd=ROOT, capture_output=True)
    whole = 1e9
    for _ in range(rounds):
        t = time.perf_counter()
        done = subprocess.run([py, "cli.py", "eval", "run", "--model", str(model_dir), "--suite", "startup",
                               "--device", "cpu", "--k", "1"], env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"cli.py eval run failed:\n{done.stderr[-2000:]}")
        whole = min(whole, time.perf_counter() - t)
    print(f"  {'whole `cli.py eval run`, 1 question':38}{whole:7.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-floor")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; each side's fastest is reported")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, the same for both sides")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--short", type=int, default=200, help="short-stem items")
    parser.add_argument("--case", type=int, default=60, help="long case items")
    parser.add_argument("--floor-batch", type=int, default=32, help="the floor's batch size (prompts)")
    parser.add_argument("--sets", default="short,case", help="item sets to run (short, case), comma-separated")
    parser.add_argument("--protocol", choices=["logprob", "generate"], default="logprob",
                        help="letter scoring, or written answers (generation stage vs a plain generate loop)")
    parser.add_argument("--startup", action="store_true", help="also time `cli.py eval run` before scoring")
    args = parser.parse_args()
    import torch

    from evaluator.engine.runners.transformers_backend import TransformersRunner
    from evaluator.engine.tiny_models import model_info

    torch.set_num_threads(args.threads)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    model_dir = build_model(work / "qwen2-34m")
    runner = TransformersRunner(str(model_dir), device="cpu")
    clock = ModelClock(runner.model, runner.decoder)
    print(f"model: Qwen2, {model_info(model_dir)['params'] / 1e6:.1f}M parameters, vocabulary "
          f"{runner.model.config.vocab_size} ({len(runner.tokenizer)} tokens in the tokenizer), fp32, cpu, "
          f"torch threads {torch.get_num_threads()}, K={args.k}, floor batch {args.floor_batch}, protocol {args.protocol}")
    sets = {"short": lambda: short_items(args.short), "case": lambda: case_items(args.case)}
    results = [compare(work, name, sets[name](), runner, clock, args) for name in re.split(r"[, ]+", args.sets) if name]
    if results:
        print_comparison(results, args)
    if args.startup:
        print(f"\nstart-up of `cli.py eval run` (fresh processes, fastest of {args.rounds}):")
        startup(model_dir, work, args.rounds)


if __name__ == "__main__":
    main()
