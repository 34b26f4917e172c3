"""Keyword expansion: besides a keyword job's keywords, related phrases searched too.

The job may give them (`expanded_keywords`, per keyword: they replace the LLM's); otherwise the
llm service is asked for up to `expansions_per_keyword` a keyword, and its answer is taken only
as far as it goes: phrases for the job's own keywords, trimmed, each once, none repeating a
keyword, at most the cap. Whatever becomes of the expansion, the plain keywords are searched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.events import JobConfig, KeywordExpansion

MAX_PHRASE_CHARS = 300

EXPANSION_PROMPT = (
    "For each keyword, suggest other search phrases a person would type to find the same kind of "
    "pages: synonyms, closer or broader phrasings, common related queries, in the keyword's language. "
    "At most `per_keyword` phrases a keyword; none that only repeats the keyword."
)
EXPANSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "expansions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "keyword": {"type": "string"},
                    "phrases": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["keyword", "phrases"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["expansions"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ExpansionPlan:
    """What a run starts with: expansions known now (`given`), or the llm service to ask."""

    state: KeywordExpansion
    ask_llm: bool = False
    given: dict[str, list[str]] = field(default_factory=dict)


def keywords_of(config: JobConfig) -> list[str]:
    return list(dict.fromkeys(keyword.strip() for keyword in config.keywords if keyword.strip()))


def expansion_plan(config: JobConfig) -> ExpansionPlan | None:
    """None for a job without keywords."""
    keywords = keywords_of(config)
    if not keywords:
        return None
    if config.expanded_keywords is not None:
        given = {
            keyword: _phrases(keyword, config.expanded_keywords.get(keyword, []), keywords, limit=None)
            for keyword in keywords
        }
        given = {keyword: phrases for keyword, phrases in given.items() if phrases}
        note = "the job's own expansions" if given else "the job gives no expansions"
        return ExpansionPlan(KeywordExpansion(state="job", note=note, expanded_keywords=given), given=given)
    if config.expansions_per_keyword == 0:
        return ExpansionPlan(KeywordExpansion(state="off", note="expansions_per_keyword is 0"))
    asked = KeywordExpansion(state="requested", note="asked of the llm service")
    return ExpansionPlan(asked, ask_llm=True)


def expansion_input(config: JobConfig) -> dict[str, Any]:
    """What the model is given: the keywords, the brand they go with, and the cap."""
    return {
        "keywords": keywords_of(config),
        "brand": config.brand_name,
        "per_keyword": config.expansions_per_keyword,
    }


def accepted_expansions(output: dict[str, Any], config: JobConfig) -> dict[str, list[str]]:
    """The model's answer, as far as it holds: per keyword of the job, its new phrases."""
    keywords = keywords_of(config)
    offered: dict[str, list[str]] = {}
    entries = output.get("expansions")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("phrases"), list):
            continue
        keyword = str(entry.get("keyword") or "").strip()
        match = next((known for known in keywords if known.casefold() == keyword.casefold()), None)
        if match is not None:
            offered.setdefault(match, []).extend(p for p in entry["phrases"] if isinstance(p, str))
    accepted = {
        keyword: _phrases(keyword, phrases, keywords, limit=config.expansions_per_keyword)
        for keyword, phrases in offered.items()
    }
    return {keyword: phrases for keyword, phrases in accepted.items() if phrases}


def _phrases(keyword: str, phrases: list[str], keywords: list[str], *, limit: int | None) -> list[str]:
    taken = {known.casefold() for known in keywords}
    kept: list[str] = []
    for phrase in phrases:
        cleaned = " ".join(phrase.split())[:MAX_PHRASE_CHARS]
        if cleaned and cleaned.casefold() not in taken:
            taken.add(cleaned.casefold())
            kept.append(cleaned)
    return kept if limit is None else kept[:limit]
