"""The stage kit: a stage's domain logic through `process()` with a scripted gateway (no
HTTP), and the generic runner's window, commits and failure handling on a toy stage."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from rewrite_builders import base
from stub_gateway import StubGateway, stub_settings

from csc.csconv.annotate import NOT_LABELLED, AnnotationStage, Target
from csc.csconv.postfilter import PostfilterConfig
from csc.csconv.stage import CsconvStage, SourceDialogue
from csc.kit import runner
from csc.kit.outcome import Counts
from csc.kit.stage import LLMStage
from csc.llm.gateway import GatewayStats, LLMFailure
from schemas.llm import (
    Annotation,
    PostfilterVerdict,
    PrefilterVerdict,
    RewrittenDialogue,
    Role,
    TurnLabel,
)

ROLE_OF = {"客服": "supporter", "客户": "customer"}


def source() -> SourceDialogue:
    """The raw dialogue the passing rewrite (rewrite_builders.base) is faithful to."""
    return SourceDialogue("d1", "zh", None, [(ROLE_OF[t.speaker], t.text) for t in base()])


def csconv(**replies) -> tuple[CsconvStage, StubGateway]:
    script = {Role.PREFILTER_JUDGE: PrefilterVerdict(low_quality=False),
              Role.REWRITER: RewrittenDialogue(base()),
              Role.POSTFILTER_JUDGE: PostfilterVerdict(quality="high")} | replies
    gw = StubGateway(script)
    return CsconvStage(gw.settings, PostfilterConfig()), gw


def run(coro):
    return asyncio.run(coro)


# -- CSConv's process() --------------------------------------------------------------------

def test_a_passing_dialogue_is_kept_with_each_steps_lineage():
    stage, gw = csconv()
    o = run(stage.process(gw, source()))
    assert o.status == "kept" and o.step is None
    assert gw.roles_asked() == [Role.PREFILTER_JUDGE, Role.REWRITER, Role.POSTFILTER_JUDGE]
    assert {a.item_key for a in gw.asked} == {"d1"}
    assert o.prefilter["model"] == "stub-prefilter_judge"
    assert o.rewrite["prompt_version"] == "rewriter.zh@stub"
    assert o.judgement["model"] == "stub-postfilter_judge" and o.judgement["quality"] == "high"
    assert [t.strategy_id for t in o.rules.turns][:3] == [1, None, 2]


def test_a_low_quality_source_is_rejected_before_the_rewrite():
    stage, gw = csconv(**{Role.PREFILTER_JUDGE: PrefilterVerdict(low_quality=True, reason="x")})
    o = run(stage.process(gw, source()))
    assert (o.status, o.step, o.reason) == ("rejected", "llm_prefilter", "x")
    assert gw.roles_asked() == [Role.PREFILTER_JUDGE]


def test_a_low_judgement_rejects_at_the_judge():
    stage, gw = csconv(**{Role.POSTFILTER_JUDGE: PostfilterVerdict(quality="low", reason="r")})
    o = run(stage.process(gw, source()))
    assert (o.status, o.step, o.reason) == ("rejected", "judge", "judged low: r")


@pytest.mark.parametrize("kind", ["dead", "deferred"])
def test_a_failed_call_ends_the_dialogue_as_dead_or_deferred(kind):
    stage, gw = csconv(**{Role.REWRITER: LLMFailure("", "gave up", kind)})
    o = run(stage.process(gw, source()))
    assert (o.status, o.error) == (kind, "gave up")
    assert gw.roles_asked() == [Role.PREFILTER_JUDGE, Role.REWRITER]


def test_the_rows_of_a_kept_and_a_rejected_dialogue():
    stage, gw = csconv()
    kept = run(stage.process(gw, source()))
    stage2, gw2 = csconv(**{Role.PREFILTER_JUDGE: PrefilterVerdict(low_quality=True)})
    rejected = run(stage2.process(gw2, SourceDialogue("d2", "zh", None, source().turns)))
    tables = stage.rows([kept, rejected], "v1", "run1")
    assert [r["dialogue_id"] for r in tables["csconv.dialogues"]] == ["d1"]
    assert len(tables["csconv.utterances"]) == 10
    assert [(r["dialogue_id"], r["step"]) for r in tables["csconv.rejects"]] == [
        ("d2", "llm_prefilter")]
    assert {r["pipeline_version"] for t in ("csconv.llm_prefilter", "csconv.rejects")
            for r in tables[t]} == {"v1"}
    stage.check(tables)  # the contracts hold


def test_the_version_moves_with_a_model_and_with_a_stage_setting():
    settings = stub_settings()
    v = CsconvStage(settings, PostfilterConfig()).version("zh")
    assert v.startswith("csconv-zh-") and v == CsconvStage(settings, PostfilterConfig()
                                                           ).version("zh")
    assert CsconvStage(settings, PostfilterConfig()).version("en") != v
    other = PostfilterConfig(min_utterances=PostfilterConfig().min_utterances + 1)
    assert CsconvStage(settings, other).version("zh") != v
    moved = dict(settings.roles)
    moved[Role.REWRITER] = moved[Role.REWRITER].__class__(
        model="another", temperature=None, max_tokens=None, timeout=5.0)
    from dataclasses import replace
    assert CsconvStage(replace(settings, roles=moved), PostfilterConfig()).version("zh") != v


# -- annotation's process() ----------------------------------------------------------------

TURNS = [("customer", "你好"), ("supporter", "您好"), ("customer", "卡锁了"),
         ("supporter", "已解锁")]


def labels(*indices: int) -> Annotation:
    return Annotation(labels=[TurnLabel(index=i, strategy="策略1 礼貌问候") for i in indices])


def annotate(gw: StubGateway):
    stage = AnnotationStage(gw.settings, "raw")
    target = Target("raw", "t1", "zh", TURNS)
    outcome = run(stage.process(gw, target))
    return outcome, stage.rows([outcome], stage.version("zh"), "r1")["csconv.annotations"]


def test_a_cached_incomplete_annotation_is_asked_again_past_the_cache():
    gw = StubGateway({Role.ANNOTATOR: [labels(1), labels(1, 3)]}, cached=True)
    outcome, rows = annotate(gw)
    assert [a.refresh for a in gw.asked] == [None, True]
    assert outcome.status == "kept" and [r["label_error"] for r in rows] == [None, None]


def test_a_fresh_incomplete_annotation_is_kept_as_it_is():
    gw = StubGateway({Role.ANNOTATOR: [labels(1)]})
    _, rows = annotate(gw)
    assert len(gw.asked) == 1
    assert [r["label_error"] for r in rows] == [None, NOT_LABELLED]


def test_a_failed_re_ask_keeps_the_cached_answer():
    gw = StubGateway({Role.ANNOTATOR: [labels(1), LLMFailure("", "no", "dead")]}, cached=True)
    outcome, rows = annotate(gw)
    assert outcome.status == "kept" and [r["label_error"] for r in rows] == [None, NOT_LABELLED]


def test_a_dead_annotation_writes_no_row():
    gw = StubGateway({Role.ANNOTATOR: LLMFailure("", "no", "dead")})
    outcome, rows = annotate(gw)
    assert outcome.status == "dead" and rows == []


def test_the_annotation_key_is_the_target_id():
    gw = StubGateway({Role.ANNOTATOR: labels(1, 3)})
    annotate(gw)
    assert gw.asked[0].item_key == "t1"


# -- the runner on a toy stage ---------------------------------------------------------------

class Done:
    def __init__(self, item: int, status: str = "kept") -> None:
        self.item, self.status = item, status


class Toy(LLMStage[int, Done]):
    """Items 0..n-1; item 0 is slow. Records when each item starts and what each commit held."""

    name = "toy"
    roles = ()
    tables = ("toy",)

    def __init__(self, n: int, slow: float = 0.3, fail_at: int | None = None,
                 spacing: float = 0.0) -> None:
        super().__init__(stub_settings())
        self.n, self.slow, self.fail_at, self.spacing = n, slow, fail_at, spacing
        self.started: dict[int, float] = {}
        self.finished: dict[int, float] = {}
        self.commits: list[list[int]] = []
        self.in_flight = self.max_in_flight = 0

    def pending(self, con, language, version, limit):
        return [str(i) for i in range(self.n)] if language == "zh" else []

    def load(self, con, language, ids: Sequence[str]) -> list[int]:
        return [int(i) for i in ids]

    async def process(self, gw, item: int) -> Done:
        self.started[item] = time.monotonic()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.slow if item == 0 else 0.01 + self.spacing * item)
            if item == self.fail_at:
                raise RuntimeError("the endpoint refused us")
            return Done(item, "rejected" if item % 2 else "kept")
        finally:
            self.in_flight -= 1
            self.finished[item] = time.monotonic()

    def rows(self, outcomes, version, run_id):
        return {"toy": [{"item": o.item, "version": version} for o in outcomes]}

    def write(self, con, tables):
        self.commits.append([r["item"] for r in tables["toy"]])
        return {"toy": len(tables["toy"])}


class FakeGateway:
    def __init__(self, *a, **k) -> None:
        self.stats = GatewayStats()

    async def aclose(self) -> None:
        pass


def run_toy(stage: Toy, batch_size: int, tmp_path: Path, monkeypatch) -> Counts:
    monkeypatch.setenv("CSC_LLM_CACHE", str(tmp_path / "cache.sqlite"))
    from dataclasses import replace
    stage.settings = replace(stage.settings, cache_path=tmp_path / "cache.sqlite",
                             concurrency=4)
    [shard] = runner.plan(stage, shard_size=100)
    return runner.run_shard(stage, shard, "r1", batch_size=batch_size,
                            make_gateway=FakeGateway)


def test_no_batch_waits_for_its_slowest_item(warehouse, tmp_path, monkeypatch):
    """Item 0 is slow; with batches of 2 every other item still starts and ends before it."""
    stage = Toy(12, slow=1.0)  # a wide margin: the others take 10 ms each
    counts = run_toy(stage, 2, tmp_path, monkeypatch)
    assert all(stage.finished[i] < stage.finished[0] for i in range(1, 12))
    assert stage.max_in_flight <= 8  # the window: twice the endpoint's concurrency
    assert (counts.input, counts.kept, counts.rejected) == (12, 6, 6) and counts.reconciles
    assert sorted(i for c in stage.commits for i in c) == list(range(12))
    assert stage.commits[-1] == [0]  # the slow one is committed last, alone
    assert counts.written == {"toy": 12}


def test_outcomes_are_committed_in_batches(warehouse, tmp_path, monkeypatch):
    stage = Toy(10, slow=0.01, spacing=0.1)  # outcomes arrive 100 ms apart
    run_toy(stage, 3, tmp_path, monkeypatch)
    # a commit starts at every third outcome; one that waits for the one before it (a slow
    # disk) takes what piled up meanwhile, so only the first is exact on a loaded machine
    assert stage.commits[0] == [0, 1, 2] and len(stage.commits) >= 3
    assert sorted(i for c in stage.commits for i in c) == list(range(10))
    assert sorted(i for c in stage.commits for i in c) == list(range(10))


def test_a_failing_item_stops_the_shard_but_keeps_what_finished(warehouse, tmp_path,
                                                                   monkeypatch):
    stage = Toy(10, slow=0.5, fail_at=5)
    with pytest.raises(RuntimeError, match="refused"):
        run_toy(stage, 2, tmp_path, monkeypatch)
    committed = sorted(i for c in stage.commits for i in c)
    assert 5 not in committed and committed and set(committed) <= set(range(10))


class Bilingual(Toy):
    """`zh` items in zh, then `en` items in en; ids say their language."""

    def __init__(self, zh: int, en: int) -> None:
        super().__init__(0, slow=0.01)
        self.per = {"zh": zh, "en": en}

    def pending(self, con, language, version, limit):
        return [f"{language}{i}" for i in range(self.per[language])][:limit]

    def load(self, con, language, ids):
        return [int(i[2:]) + (100 if language == "en" else 0) for i in ids]

    def rows(self, outcomes, version, run_id):
        return {"toy": [{"item": o.item, "version": version} for o in outcomes]}

    def write(self, con, tables):
        self.rows_written = getattr(self, "rows_written", []) + tables["toy"]
        return {"toy": len(tables["toy"])}


def test_a_shard_fills_up_across_languages(warehouse):
    stage = Bilingual(zh=5, en=4)
    shards = runner.plan(stage, shard_size=3)
    assert [s.language for s in shards] == ["zh", "zh+en", "en"]
    assert [s.ids for s in shards] == [["zh0", "zh1", "zh2"], ["zh3", "zh4", "en0"],
                                       ["en1", "en2", "en3"]]
    zh, en = stage.version("zh"), stage.version("en")
    assert zh != en and [p.version for p in shards[1].parts] == [zh, en]
    assert [s.ids for s in runner.plan(stage, shard_size=9)] == [
        ["zh0", "zh1", "zh2", "zh3", "zh4", "en0", "en1", "en2", "en3"]]
    assert [s.ids for s in runner.plan(stage, shard_size=5, limit=2)] == [
        ["zh0", "zh1", "en0", "en1"]]
    assert runner.plan(Bilingual(zh=0, en=0)) == []


def test_each_item_of_a_mixed_shard_is_written_under_its_languages_version(
        warehouse, tmp_path, monkeypatch):
    stage = Bilingual(zh=3, en=2)
    monkeypatch.setenv("CSC_LLM_CACHE", str(tmp_path / "cache.sqlite"))
    from dataclasses import replace
    stage.settings = replace(stage.settings, cache_path=tmp_path / "cache.sqlite",
                             concurrency=4)
    [shard] = runner.plan(stage, shard_size=10)
    counts = runner.run_shard(stage, shard, "r1", batch_size=10, make_gateway=FakeGateway)
    assert counts.input == 5 and counts.reconciles
    by_item = {r["item"]: r["version"] for r in stage.rows_written}
    assert by_item == {0: stage.version("zh"), 1: stage.version("zh"), 2: stage.version("zh"),
                       100: stage.version("en"), 101: stage.version("en")}


def test_counts_total_sums_shards_and_reconciles():
    a = Counts("s", input=3, kept=1, rejected=1, dead=1, written={"t": 2},
               llm={"calls": 3, "cost_usd": 0.5})
    b = Counts("s", input=2, kept=1, deferred=1, written={"t": 1, "u": 4}, llm={"calls": 1})
    total = Counts.total("s", [a.as_dict(), b.as_dict()])
    assert (total.input, total.kept, total.rejected, total.dead, total.deferred) == (5, 2, 1, 1, 1)
    assert total.written == {"t": 3, "u": 4} and total.llm["calls"] == 4
    assert total.llm["cost_usd"] == 0.5 and total.reconciles
    with pytest.raises(ValueError, match="unknown outcome status"):
        Counts("s").add([Done(1, "lost")])


# -- naming a stage: StageRef ----------------------------------------------------------------

def test_a_reference_builds_the_stage_it_names_with_its_options():
    settings = stub_settings()
    raw = AnnotationStage.ref(kind="raw")
    built = raw.build(settings)
    assert type(built) is AnnotationStage and built.kind == "raw"
    assert raw.key == built.key == "annotate-raw"  # run names and shards agree with the stage
    assert CsconvStage.ref().key == CsconvStage(settings, PostfilterConfig()).key == "csconv"
    assert type(CsconvStage.ref().build(settings)) is CsconvStage


def test_a_reference_is_plain_data_a_task_can_receive():
    import pickle

    ref = AnnotationStage.ref(kind="csconv")
    assert pickle.loads(pickle.dumps(ref)) == ref
    assert ref.path == "csc.csconv.annotate:AnnotationStage"
    assert ref.options == (("kind", "csconv"),)
    assert ref != AnnotationStage.ref(kind="raw")


def test_the_csconv_run_runs_the_rewrite_then_both_labellings():
    from csc.csconv.plan import csconv_stages

    assert [r.key for r in csconv_stages()] == ["csconv", "annotate-csconv", "annotate-raw"]
