"""The CSConv pipeline version names everything that decides a dialogue's outcome, so a change
to it (prompts, models, bounds, the faithfulness floor, the rules' own version) makes stored
outcomes pending again, and only for the language it touches."""

from __future__ import annotations

from dataclasses import replace

import pytest

from csc.csconv import postfilter
from csc.csconv import stage as csconv_stage
from csc.csconv.plan import pipeline_version
from csc.csconv.postfilter import PostfilterConfig
from csc.llm.settings import load_settings


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("CSC_LLM_BASE_URL", "http://llm.example/v1")
    monkeypatch.setenv("CSC_LLM_API_KEY", "k")
    monkeypatch.setenv("CSC_LLM_MODEL", "m")
    return load_settings(stages=("csconv",))


def test_the_faithfulness_floor_versions_its_own_language_only(settings):
    base = PostfilterConfig()
    stricter_zh = replace(base, faithful_zh=0.25)
    assert pipeline_version(settings, "zh", stricter_zh) != pipeline_version(settings, "zh", base)
    assert pipeline_version(settings, "en", stricter_zh) == pipeline_version(settings, "en", base)
    stricter_en = replace(base, faithful_en=0.35)
    assert pipeline_version(settings, "en", stricter_en) != pipeline_version(settings, "en", base)


def test_a_new_rules_version_is_a_new_pipeline_version(settings, monkeypatch):
    before = {lang: pipeline_version(settings, lang, PostfilterConfig()) for lang in ("zh", "en")}
    monkeypatch.setattr(csconv_stage, "RULES_VERSION", postfilter.RULES_VERSION + "-next")
    after = {lang: pipeline_version(settings, lang, PostfilterConfig()) for lang in ("zh", "en")}
    assert all(before[lang] != after[lang] for lang in before)
    assert all(v.startswith(f"csconv-{lang}-") for lang, v in after.items())
