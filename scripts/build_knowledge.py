#!/usr/bin/env python3
"""Build data/knowledge.tsv, the built-in knowledge base of known models.

Reads public price tables and model lists, given as arguments, and writes one row per
normalised lookup key: context window, parameter count, prices per 1M tokens, a quality figure
and the model kind. Python 3.11, standard library only; deterministic (the same inputs give a
byte-identical file).

    python3 scripts/build_knowledge.py \
        --litellm PATH/litellm_model_prices.json --ollama-library PATH/ollama_library.json \
        --openrouter tests/data/discovery/openrouter_models_all.json \
        --openrouter-2025-07 tests/data/discovery/openrouter_2025-07.json \
        --provider-lists tests/data/discovery --model-names tests/data/model_names.txt \
        --out data/knowledge.tsv --keys-out tests/data/knowledge_keys.tsv

`--data-dir DIR` fills every source not given on its own from one directory laid out as
DIR/litellm_model_prices.json, DIR/openrouter_models_all.json, DIR/model_names.txt and
DIR/models/ (provider lists, openrouter_2025-07.json, ollama_library.json). The provider
lists read are together, groq, mistral, novita, vercel, sambanova, fireworks, hyperbolic,
cohere, github, lmstudio_api_v1_models and volcengine_ark_doubao (`<name>.json`). The
repository carries copies of those lists and of both OpenRouter lists (tests/data/discovery/)
and of model_names.txt (tests/data/); LiteLLM's price table (litellm_model_prices.json, from
BerriAI/litellm) and the ollama.com library (ollama_library.json, a scrape of its families and
tags) must be supplied. There is no default location: every source must be named.

The key rule (`lookup_keys`) is the same as in src/catalog/knowledge.rs; the Rust tests check
both agree on tests/data/knowledge_keys.tsv, which this script also writes (--keys-out).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import re
import sys
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# The key rule. Keep in step with src/catalog/knowledge.rs (module doc comment).
# ---------------------------------------------------------------------------------------------

VARIANT_TAGS = {
    "free", "beta", "thinking", "extended", "nitro", "floor", "online", "exacto", "latest",
    "default",
}
BEDROCK_REGIONS = {"us", "eu", "apac", "au", "jp", "ca", "in", "global", "us-gov"}
BEDROCK_VENDORS = {
    "anthropic", "meta", "amazon", "openai", "qwen", "mistral", "cohere", "minimax",
    "stability", "xai", "moonshotai", "moonshot", "nvidia", "google", "deepseek", "twelvelabs",
    "zai", "writer", "ai21", "luma",
}
QUANT_WORDS = {
    "f16", "f32", "fp16", "fp32", "fp8", "fp4", "bf16", "int4", "int8", "awq", "gptq", "gguf",
    "ggml", "mlx", "qat", "exl2", "nvfp4", "mxfp4", "latest",
}


def _digit(c: str) -> bool:
    return "0" <= c <= "9"


def _letter(c: str) -> bool:
    return "a" <= c <= "z"


def _is_digits(s: str) -> bool:
    return s != "" and all(_digit(c) for c in s)


def _is_quant_piece(p: str) -> bool:
    """`q4_k_m`, `q8_0`, `iq3_xs`, `fp16`, `4bit`, `w4a16`, ... and `latest`."""
    if p in QUANT_WORDS:
        return True
    if p.startswith("iq") or p.startswith("q"):
        body = p[2:] if p.startswith("iq") else p[1:]
        head, _, tail = body.partition("_")
        return _is_digits(head) and all(_digit(c) or _letter(c) or c == "_" for c in tail)
    if p.endswith("bit"):
        return _is_digits(p[:-3])
    if p.startswith("w") and "a" in p:
        w, _, a = p[1:].partition("a")
        return _is_digits(w) and _is_digits(a)
    return False


def _month_day(mm: str, dd: str) -> bool:
    return 1 <= int(mm) <= 12 and 1 <= int(dd) <= 31


def _is_date_piece(p: str) -> bool:
    """`20240307` (YYYYMMDD) or `250115` (YYMMDD, Volcengine Ark)."""
    if not _is_digits(p):
        return False
    if len(p) == 8:
        return p.startswith("20") and _month_day(p[4:6], p[6:8])
    if len(p) == 6:
        return "23" <= p[:2] <= "29" and _month_day(p[2:4], p[4:6])
    return False


def _is_iso_date(y: str, m: str, d: str) -> bool:
    """`2024`, `08`, `06`: the pieces of `-2024-08-06`."""
    return (
        len(y) == 4 and _is_digits(y) and y.startswith("20")
        and len(m) == 2 and _is_digits(m) and len(d) == 2 and _is_digits(d)
        and _month_day(m, d)
    )


def _is_version_piece(p: str) -> bool:
    """`0905`, `2407` (MMDD or YYMM) and `001`..`009`."""
    if not _is_digits(p):
        return False
    if len(p) == 4:
        return _month_day(p[:2], p[2:]) or ("23" <= p[:2] <= "29" and 1 <= int(p[2:]) <= 12)
    return len(p) == 3 and p.startswith("00") and p != "000"


def _strip_dotted_vendor(s: str) -> str:
    """`us.anthropic.claude-...` -> `claude-...`; `deepseek.v3.2` -> `deepseek-v3.2`."""
    head, dot, rest = s.partition(".")
    if dot and head in BEDROCK_REGIONS:
        head, dot, rest = rest.partition(".")
    if not dot or head not in BEDROCK_VENDORS or rest == "":
        return s
    if len(rest) >= 2 and _letter(rest[0]) and _digit(rest[1]):
        return f"{head}-{rest}"
    return rest


def _decimal_p(p: str) -> str:
    """Fireworks writes `4p5` for `4.5`."""
    return "".join(
        "." if c == "p" and 0 < i < len(p) - 1 and _digit(p[i - 1]) and _digit(p[i + 1]) else c
        for i, c in enumerate(p)
    )


def _pieces(model_id: str) -> tuple[list[str], int]:
    """The normalised pieces of an id and how many of them name the family (before ':')."""
    s = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in model_id)
    s = s.strip(" \t\n\r\x0c")
    s = s.rsplit("/", 1)[-1]
    at = s.find("@")
    if at > 0:
        s = s[:at]
    s = _strip_dotted_vendor(s)
    name, _, tag = s.partition(":")
    fam = [p for p in name.split("-") if p]
    if _is_digits(tag):  # Bedrock revision `:0`; its `-v1` (or `-vN` after a date) goes too
        tag = ""
        if len(fam) > 1 and (
            fam[-1] in ("v1", "1")
            or (fam[-1][:1] == "v" and _is_digits(fam[-1][1:]) and _is_date_piece(fam[-2]))
        ):
            fam.pop()
    if tag in VARIANT_TAGS:
        tag = ""
    pieces = fam + [p for p in tag.replace(":", "-").split("-") if p]
    while len(pieces) > 1 and _is_quant_piece(pieces[-1]):
        pieces.pop()
    family_len = min(len(fam), len(pieces))
    merged: list[str] = []
    merged_family = 0
    for i, raw in enumerate(pieces):
        p = _decimal_p(raw)
        if merged and i != family_len and len(p) == 1 and _digit(p) and _digit(merged[-1][-1]):
            merged[-1] += "." + p
        else:
            merged.append(p)
        if i + 1 == family_len:
            merged_family = len(merged)
    return merged, merged_family


def lookup_keys(model_id: str) -> list[str]:
    """The normalised keys tried for an id, most specific first: the full key, then without a
    date, then without a 4-digit version, then (Ollama `family:tag`) dropping tag pieces from
    the end down to the family. Each is a prefix of the first at a '-' boundary."""
    pieces, family_len = _pieces(model_id)
    n = len(pieces)
    if n == 0:
        return []
    counts = {n}
    cut = n
    if cut > 3 and _is_iso_date(*pieces[cut - 3 : cut]):
        cut -= 3
    elif cut > 1 and _is_date_piece(pieces[cut - 1]):
        cut -= 1
    counts.add(cut)
    if cut > 1 and _is_version_piece(pieces[cut - 1]):
        counts.add(cut - 1)
    if 0 < family_len < n:
        counts.update(range(family_len, n))
    return ["-".join(pieces[:c]) for c in sorted(counts, reverse=True)]


def primary_key(model_id: str) -> str:
    keys = lookup_keys(model_id)
    return keys[0] if keys else ""


# ---------------------------------------------------------------------------------------------
# Vendors: used for first-party precedence and for the coverage report.
# ---------------------------------------------------------------------------------------------

# Family name patterns per vendor (matched at the start of a key), first match wins.
VENDOR_PATTERNS = [
    ("google", r"gemini|palm|text-bison|chat-bison|imagen|veo|learnlm|text-embedding-00"
               r"|text-multilingual-embedding"),
    ("openai", r"gpt|o[134](-|$)|chatgpt|text-embedding|dall-e|tts-|whisper|davinci|babbage"
               r"|omni-moderation|text-moderation|codex|sora|computer-use"),
    ("anthropic", r"claude"),
    ("gemma", r"(code|med|shield|embedding|translate|function|pali|recurrent)?gemma"),
    ("meta", r"llama|meta-llama|codellama"),
    ("qwen", r"qwen|qwq|qvq|codeqwen"),
    ("deepseek", r"deepseek"),
    ("mistral", r"mistral|mixtral|codestral|magistral|devstral|pixtral|ministral|open-mistral"
                r"|open-mixtral|mathstral|voxtral"),
    ("zhipu", r"glm|chatglm|codegeex|cogview|cogvideo|charglm"),
    ("moonshot", r"moonshot|kimi"),
    ("doubao", r"doubao"),
    ("yi", r"yi(-|$)"),
    ("baichuan", r"baichuan"),
    ("minimax", r"minimax|abab"),
    ("phi", r"phi(\d|-|$)"),
    ("xai", r"grok"),
    ("cohere", r"command|embed-|rerank-|c4ai|aya"),
]
_VENDOR_RES = [(v, re.compile(p)) for v, p in VENDOR_PATTERNS]


def vendor_of(key: str) -> str | None:
    return next((v for v, r in _VENDOR_RES if r.match(key)), None)


# LiteLLM providers that sell their own models; an entry `provider/model` or a bare `model`
# of one of these is the vendor's own price list, when the model is the provider's own.
FIRST_PARTY = {
    "openai": "openai", "text-completion-openai": "openai", "anthropic": "anthropic",
    "gemini": "google", "vertex_ai-language-models": "google", "vertex_ai": "google",
    "vertex_ai-embedding-models": "google", "mistral": "mistral", "codestral": "mistral",
    "text-completion-codestral": "mistral", "deepseek": "deepseek", "xai": "xai",
    "zai": "zhipu", "bigmodel": "zhipu", "moonshot": "moonshot", "minimax": "minimax",
    "volcengine": "doubao", "dashscope": "qwen", "qwen_ai_platform": "qwen",
    "qwencloud": "qwen", "cohere": "cohere", "cohere_chat": "cohere", "meta_llama": "meta",
}
# Google's own platforms also serve Gemma at Google's price.
FIRST_PARTY_ALSO = {"google": {"gemma"}}
# Providers whose LiteLLM price of 0 is a placeholder (Volcengine) or a free side endpoint
# (codestral.mistral.ai), not the model's price.
ZERO_IS_UNKNOWN = {"volcengine", "codestral", "text-completion-codestral"}
# Local runtimes: no prices at all.
LOCAL_PROVIDERS = {"ollama", "lemonade", "lm_studio", "llamafile"}
# Resellers, best first (cheapest list-price mirrors first); others follow alphabetically.
RESELLER_ORDER = [
    "vertex_ai-anthropic_models", "vertex_ai-mistral_models", "vertex_ai-llama_models",
    "vertex_ai-deepseek_models", "vertex_ai-qwen_models", "vertex_ai-zai_models",
    "vertex_ai-minimax_models", "vertex_ai-moonshot_models", "vertex_ai-openai_models",
    "vertex_ai-ai21_models", "bedrock_converse", "bedrock", "azure", "azure_ai",
    "together_ai", "fireworks_ai", "deepinfra", "groq", "cerebras", "sambanova", "nebius",
    "novita",
]

LITELLM_KIND = {
    "chat": "chat", "responses": "chat", "completion": "chat",
    "embedding": "embedding", "rerank": "rerank",
    "image_generation": "image", "image_edit": "image", "video_generation": "image",
    "audio_transcription": "audio", "audio_speech": "audio", "realtime": "audio",
    "moderation": "moderation",
}

# Facts absent from the source files, from the vendors' public model pages (as mirrored
# by lobehub/lobe-chat `src/config/modelProviders/*.ts`, MIT). Prices there are in CNY; the
# table is USD, so only "free" (0) is kept; other prices are left unknown.
CURATED = [
    # id, context, input, output, kind, source
    ("glm-4-flash", 128000, 0.0, 0.0, "chat", "docs.bigmodel.cn free/glm-4-flash-250414; lobe-chat zhipu.ts"),
    ("glm-4-flashx", 128000, None, None, "chat", "lobe-chat zhipu.ts (open.bigmodel.cn)"),
    ("glm-4-long", 1024000, None, None, "chat", "lobe-chat zhipu.ts (open.bigmodel.cn)"),
    ("glm-4-air", 128000, None, None, "chat", "lobe-chat zhipu.ts (open.bigmodel.cn)"),
    ("glm-4-airx", 8192, None, None, "chat", "lobe-chat zhipu.ts (open.bigmodel.cn)"),
    ("glm-4-plus", 128000, None, None, "chat", "docs.bigmodel.cn guide/models/text/glm-4"),
    ("glm-4", 128000, None, None, "chat", "lobe-chat zhipu.ts (open.bigmodel.cn)"),
    ("glm-4-0520", 128000, None, None, "chat", "lobe-chat zhipu.ts (open.bigmodel.cn)"),
    ("glm-4v-plus", 8192, None, None, "chat", "lobe-chat zhipu.ts (open.bigmodel.cn)"),
    ("glm-4v", 2048, None, None, "chat", "lobe-chat zhipu.ts (open.bigmodel.cn)"),
    ("Baichuan4", 32768, None, None, "chat", "lobe-chat baichuan.ts (platform.baichuan-ai.com/price)"),
    ("Baichuan4-Turbo", 32768, None, None, "chat", "lobe-chat baichuan.ts (platform.baichuan-ai.com/price)"),
    ("Baichuan4-Air", 32768, None, None, "chat", "lobe-chat baichuan.ts (platform.baichuan-ai.com/price)"),
    ("Baichuan3-Turbo", 32768, None, None, "chat", "lobe-chat baichuan.ts (platform.baichuan-ai.com/price)"),
    ("Baichuan3-Turbo-128k", 128000, None, None, "chat", "lobe-chat baichuan.ts (platform.baichuan-ai.com/price)"),
    ("Baichuan2-Turbo", 32768, None, None, "chat", "lobe-chat baichuan.ts (platform.baichuan-ai.com/price)"),
    ("yi-34b-chat-200k", 200000, None, None, "chat", "lobe-chat zeroone.ts"),
    ("yi-34b-chat-0205", 4000, None, None, "chat", "lobe-chat zeroone.ts"),
    ("yi-vl-plus", 4000, None, None, "chat", "lobe-chat zeroone.ts"),
]

# ---------------------------------------------------------------------------------------------
# Facts and merging
# ---------------------------------------------------------------------------------------------

# Tiers: lower wins. One tier per (source, field group); see README-knowledge.md.
T_FIRST, T_CURATED, T_OPENROUTER, T_PROVIDER_LIST, T_OPENROUTER_OLD, T_RESELLER, T_LOCAL = range(7)


class Fact:
    __slots__ = ("key", "tier", "rank", "context", "params", "active", "price", "quality",
                 "kind", "origin")

    def __init__(self, key, tier, rank, origin):
        self.key, self.tier, self.rank, self.origin = key, tier, rank, origin
        self.context = self.params = self.active = self.price = self.quality = self.kind = None


def per_1m(per_token) -> float | None:
    try:
        v = float(per_token)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v) or v < 0:
        return None
    return round(v * 1_000_000, 6)


def positive_int(v) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)) and v > 0:
        return int(v)
    return None


IMAGE_PATH = re.compile(r"(^|/)(\d+-x-\d+|\d+-steps|max-steps|low|medium|high|hd|standard|xhigh|auto)(/|$)")
# Image/video providers whose LiteLLM keys end in an operation (`…/flux/dev`, `…/text-to-image`,
# `stability/erase`), not a model name.
OPERATION_PROVIDERS = {"fal_ai", "aiml", "stability"}
# LiteLLM keys that name an endpoint or a router, not a model.
GENERIC_KEYS = {"chat", "query", "extract", "model_router", "container", "edit", "search"}


def litellm_facts(path: Path) -> list[Fact]:
    data = json.loads(path.read_text())
    facts = []
    order = {p: i for i, p in enumerate(RESELLER_ORDER)}
    for name in sorted(data):
        entry = data[name]
        if name == "sample_spec" or not isinstance(entry, dict):
            continue
        mode = entry.get("mode")
        kind = LITELLM_KIND.get(mode)
        if kind is None or IMAGE_PATH.search(name.lower()) or name.lower().startswith("ft:"):
            continue
        if re.match(r"^(fireworks|together)-ai-", name):
            continue  # pricing tiers, not models
        provider = entry.get("litellm_provider") or ""
        if kind == "image" and provider in OPERATION_PROVIDERS:
            continue
        key = primary_key(name)
        if not key or key in GENERIC_KEYS:
            continue
        vendor = vendor_of(key)
        own = FIRST_PARTY.get(provider)
        nested = name.count("/") > 1
        first = own is not None and not nested and (
            own == vendor or vendor in FIRST_PARTY_ALSO.get(own, set())
        )
        if provider in LOCAL_PROVIDERS:
            tier, rank = T_LOCAL, 0
        elif first:
            tier, rank = T_FIRST, 0
        else:
            tier, rank = T_RESELLER, order.get(provider, len(order))
        regional = name.count("/") >= 2 or re.match(r"^(us|eu|apac|au|jp|global|us-gov)\.", name)
        f = Fact(key, tier, (rank, 1 if regional else 0, name), f"litellm:{name}")
        f.kind = kind
        f.context = positive_int(entry.get("max_input_tokens"))
        inp, out = per_1m(entry.get("input_cost_per_token")), per_1m(entry.get("output_cost_per_token"))
        if provider not in LOCAL_PROVIDERS and inp is not None and out is not None:
            zero = inp == 0 and out == 0
            # A 0 counts only as the vendor's own price for its own text models: rerankers
            # and images are priced per search or image, with 0 in the per-token fields.
            # A vendor's 0 for another vendor's model (Gemma on AI Studio) is a free tier.
            own_zero = first and own == vendor and provider not in ZERO_IS_UNKNOWN
            if not zero or (own_zero and kind in ("chat", "embedding", "moderation")):
                f.price = (inp, out, per_1m(entry.get("cache_read_input_token_cost")))
        facts.append(f)
    return facts


def openrouter_kind(m: dict) -> str:
    outs = (m.get("architecture") or {}).get("output_modalities") or []
    for out, kind in (("embeddings", "embedding"), ("rerank", "rerank"), ("text", "chat"),
                      ("transcription", "audio"), ("speech", "audio"), ("audio", "audio"),
                      ("image", "image"), ("video", "image")):
        if out in outs:
            return kind
    return "chat"


def openrouter_facts(path: Path, tier: int, label: str) -> list[Fact]:
    models = json.loads(path.read_text()).get("data") or []
    facts = []
    for m in sorted(models, key=lambda m: m.get("id") or ""):
        mid = m.get("id") or ""
        if not mid or mid.startswith("openrouter/") or mid.startswith("~"):
            continue
        key = primary_key(mid)
        if not key:
            continue
        free = mid.endswith(":free")
        f = Fact(key, tier, (1 if free else 0, 1 if ":" in mid else 0, mid), f"{label}:{mid}")
        f.kind = openrouter_kind(m)
        f.context = positive_int(m.get("context_length")) or positive_int(
            (m.get("top_provider") or {}).get("context_length"))
        pricing = m.get("pricing") or {}
        inp, out = per_1m(pricing.get("prompt")), per_1m(pricing.get("completion"))
        # Only text models are priced per token there (audio per second, images per image,
        # rerankers per search, with 0 in the per-token fields).
        if not free and inp is not None and out is not None and f.kind in ("chat", "embedding"):
            f.price = (inp, out, per_1m(pricing.get("input_cache_read")))
        bench = ((m.get("benchmarks") or {}).get("artificial_analysis") or {})
        idx = bench.get("intelligence_index")
        if isinstance(idx, (int, float)) and not isinstance(idx, bool) and idx > 0:
            f.quality = float(idx)
        facts.append(f)
        hf = m.get("hugging_face_id")
        if hf and primary_key(hf) != key:
            alias = Fact(primary_key(hf), tier, (2, 0, mid), f"{label}:hf:{hf}")
            alias.kind, alias.context, alias.price, alias.quality = f.kind, f.context, f.price, f.quality
            facts.append(alias)
    return facts


def _list(path: Path):
    d = json.loads(path.read_text())
    if isinstance(d, dict):
        for k in ("data", "models"):
            if isinstance(d.get(k), list):
                return d[k]
        return []
    return d if isinstance(d, list) else []


# Provider lists, best first within their tier.
LIST_ORDER = ["mistral", "cohere", "volcengine_ark_doubao", "together", "vercel", "novita",
              "sambanova", "groq", "fireworks", "hyperbolic", "github", "lmstudio_api_v1_models"]


def provider_list_facts(models_dir: Path) -> list[Fact]:
    facts = []

    def add(file, mid, context=None, price=None, kind=None, tier=T_PROVIDER_LIST, params=None):
        key = primary_key(mid or "")
        if not key:
            return
        f = Fact(key, tier, (0, LIST_ORDER.index(file), mid), f"models/{file}:{mid}")
        # A reseller's 0 is a promotion or a placeholder, not the model's price.
        f.price = None if price and price[0] == 0 and price[1] == 0 else price
        f.context, f.kind = context, kind
        if params:
            f.params, f.active = params
        facts.append(f)

    for m in _list(models_dir / "together.json"):
        p = m.get("pricing") or {}
        price = None
        if m.get("type") in ("chat", "language", "code") and (p.get("input") or p.get("output")):
            price = (round(float(p.get("input") or 0), 6), round(float(p.get("output") or 0), 6), None)
        kind = {"chat": "chat", "language": "chat", "code": "chat", "embedding": "embedding",
                "rerank": "rerank", "image": "image", "audio": "audio",
                "moderation": "moderation"}.get(m.get("type"))
        add("together", m.get("id"), positive_int(m.get("context_length")), price, kind)
    for m in _list(models_dir / "groq.json"):
        add("groq", m.get("id"), positive_int(m.get("context_window")))
    for m in _list(models_dir / "mistral.json"):
        ctx = positive_int(m.get("max_context_length"))
        add("mistral", m.get("id"), ctx, tier=T_FIRST)
        for alias in m.get("aliases") or []:
            add("mistral", alias, ctx, tier=T_FIRST)
    for m in _list(models_dir / "novita.json"):
        price = None
        pi, po = m.get("input_token_price_per_m"), m.get("output_token_price_per_m")
        if isinstance(pi, (int, float)) and isinstance(po, (int, float)) and (pi or po):
            price = (round(pi / 10000, 6), round(po / 10000, 6), None)  # 1/10000 USD per 1M
        kind = "embedding" if m.get("model_type") == "embedding" else "chat"
        add("novita", m.get("id"), positive_int(m.get("context_size")), price, kind)
    for m in _list(models_dir / "vercel.json"):
        p = m.get("pricing") or {}
        inp, out = per_1m(p.get("input")), per_1m(p.get("output"))
        price = (inp, out, per_1m(p.get("input_cache_read"))) if inp is not None and out is not None else None
        add("vercel", m.get("id"), positive_int(m.get("context_window")), price)
    for m in _list(models_dir / "sambanova.json"):
        p = m.get("pricing") or {}
        inp, out = per_1m(p.get("prompt")), per_1m(p.get("completion"))
        price = (inp, out, None) if inp is not None and out is not None else None
        add("sambanova", m.get("id"), positive_int(m.get("context_length")), price)
    for f in ("fireworks", "hyperbolic"):
        for m in _list(models_dir / f"{f}.json"):
            add(f, m.get("id"), positive_int(m.get("context_length")))
    for m in _list(models_dir / "cohere.json"):
        eps = m.get("endpoints") or []
        kind = "embedding" if "embed" in eps else "rerank" if "rerank" in eps else "chat"
        add("cohere", m.get("name"), positive_int(m.get("context_length")), kind=kind, tier=T_FIRST)
    for m in _list(models_dir / "github.json"):
        add("github", m.get("id"), positive_int((m.get("limits") or {}).get("max_input_tokens")))
    for m in _list(models_dir / "lmstudio_api_v1_models.json"):
        add("lmstudio_api_v1_models", m.get("key"), positive_int(m.get("max_context_length")),
            tier=T_LOCAL, params=_params_string(m.get("params_string")))
    for m in _list(models_dir / "volcengine_ark_doubao.json"):
        mid = m.get("id") or ""
        ctx = re.search(r"-(\d+)k(-|$)", mid)
        add("volcengine_ark_doubao", mid, int(ctx.group(1)) * 1024 if ctx else None,
            kind=_kind_from_name(mid), tier=T_FIRST)
    return facts


def _kind_from_name(mid: str) -> str:
    s = mid.lower()
    if "embedding" in s:
        return "embedding"
    if "seedream" in s or "seedance" in s or "seededit" in s:
        return "image"
    return "chat"


def _params_string(s) -> tuple | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)B(?:-A(\d+(?:\.\d+)?)B)?", s or "")
    if not m:
        return None
    return (float(m.group(1)), float(m.group(2)) if m.group(2) else None)


def ollama_facts(path: Path) -> list[Fact]:
    facts = []
    for fam in sorted(json.loads(path.read_text()), key=lambda f: f.get("name") or ""):
        name = fam.get("name") or ""
        kind = "embedding" if "embedding" in (fam.get("capabilities") or []) else "chat"
        tags = sorted(fam.get("tags") or [], key=lambda t: t.get("name") or "")
        for t in tags:
            tag = t.get("name") or ""
            mid = f"{name}:{tag}"
            key = primary_key(mid)
            if not key:
                continue
            f = Fact(key, T_LOCAL, (0, 1 if t.get("quantization") else 0, mid), f"ollama:{mid}")
            f.kind = kind
            f.context = _ollama_context(t.get("context_window"))
            ps = t.get("parameter_size")
            # The scrape reads `8x7b` as 7: leave mixture sizes to the name rule (docs/queries.md, "Parameter count").
            moe = re.search(r"(^|-)\d+x\d+(\.\d+)?b(-|$)", tag)
            if not moe and isinstance(ps, (int, float)) and not isinstance(ps, bool) and ps > 0:
                f.params = float(ps)
            facts.append(f)
    return facts


def _ollama_context(s) -> int | None:
    """The library shows `32K`, `128K`, `125K`: thousands of 1,024 tokens, rounded."""
    m = re.fullmatch(r"(\d+)K", s or "")
    return int(m.group(1)) * 1024 if m else None


def curated_facts() -> list[Fact]:
    facts = []
    for mid, ctx, inp, out, kind, _src in CURATED:
        f = Fact(primary_key(mid), T_CURATED, (0, 0, mid), f"curated:{mid}")
        f.context, f.kind = ctx, kind
        if inp is not None and out is not None:
            f.price = (inp, out, None)
        facts.append(f)
    return facts


MOE_NAME = re.compile(r"(?:^|-)(\d+(?:\.\d+)?)b-a(\d+(?:\.\d+)?)b(?:-|$)")


class Row:
    __slots__ = ("context", "params", "active", "price", "quality", "kind")

    def cells(self, max_quality: float) -> list[str]:
        inp, out, cached = self.price if self.price else (None, None, None)
        q = None if self.quality is None else round(self.quality / max_quality, 3)
        return [
            _num(self.context), _num(self.params), _num(self.active), _num(inp), _num(out),
            _num(cached), _num(q), self.kind or "",
        ]


def _num(v) -> str:
    if v is None:
        return ""
    if isinstance(v, int):
        return str(v)
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def merge(facts: list[Fact]) -> dict[str, Row]:
    by_key: dict[str, list[Fact]] = {}
    for f in facts:
        by_key.setdefault(f.key, []).append(f)
    rows = {}
    for key, fs in by_key.items():
        fs.sort(key=lambda f: (f.tier, f.rank))
        r = Row()
        r.context = next((f.context for f in fs if f.context), None)
        r.price = next((f.price for f in fs if f.price), None)
        r.quality = next((f.quality for f in fs if f.quality), None)
        r.kind = next((f.kind for f in fs if f.kind), None)
        pf = next((f for f in fs if f.params), None)
        r.params = pf.params if pf else None
        r.active = pf.active if pf else None
        m = MOE_NAME.search(key)
        if m and (r.params is None or r.params == float(m.group(1))):
            r.params, r.active = float(m.group(1)), float(m.group(2))
        if any((r.context, r.params, r.price, r.quality, r.kind)):
            rows[key] = r
    return rows


def add_family_rows(rows: dict[str, Row], ids: list[str]) -> None:
    """A dated id (`claude-3-haiku-20240307`) also answers for its undated family key when no
    source names the family itself; the newest date wins."""
    best: dict[str, str] = {}
    for mid in ids:
        keys = lookup_keys(mid)
        if len(keys) < 2 or keys[0] not in rows:
            continue
        family = keys[1]
        if family in rows or not _is_date_stripped(keys[0], family):
            continue
        if family not in best or keys[0] > best[family]:
            best[family] = keys[0]
    for family, dated in best.items():
        rows[family] = rows[dated]


def _is_date_stripped(full: str, family: str) -> bool:
    tail = full[len(family) + 1:].split("-")
    return full.startswith(family + "-") and (
        (len(tail) == 1 and _is_date_piece(tail[0])) or (len(tail) == 3 and _is_iso_date(*tail))
    )


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

HEADER = ["key", "context_tokens", "params_b", "active_params_b", "input_per_1m_usd",
          "output_per_1m_usd", "cached_input_per_1m_usd", "quality", "kind"]


def snapshot_date(openrouter: Path) -> str:
    newest = 0
    for m in _list(openrouter):
        c = m.get("created")
        if isinstance(c, int) and c > newest:
            newest = c
    return datetime.datetime.fromtimestamp(newest, datetime.timezone.utc).strftime("%Y-%m-%d")


def write_table(out: Path, rows: dict[str, Row], max_quality: float, openrouter: Path) -> None:
    lines = [
        "# smart-ai-router built-in knowledge base: one row per normalised model key.",
        "# Generated by scripts/build_knowledge.py; do not edit by hand. Refresh with:",
        "#   python3 scripts/build_knowledge.py --data-dir DIR --out data/knowledge.tsv \\",
        "#     --keys-out tests/data/knowledge_keys.tsv   (DIR: the source files; see --help)",
        f"# Data snapshot: newest OpenRouter model created {snapshot_date(openrouter)} (UTC).",
        "# Sources, best first for each fact: LiteLLM 1.109.1 model_prices_and_context_window",
        "#   (first-party providers); vendor pages for Zhipu GLM-4, Baichuan, 01.AI (curated);",
        "#   OpenRouter /api/v1/models (openrouter_models_all.json); provider /models lists",
        "#   (mistral, cohere, volcengine ark, together, groq, novita, vercel, sambanova,",
        "#   fireworks, hyperbolic, github); OpenRouter 2025-07; LiteLLM resellers;",
        "#   ollama.com library and LM Studio (parameters and context of local tags).",
        "# Prices are USD per 1M tokens; quality = Artificial Analysis intelligence index",
        f"#   (via OpenRouter benchmarks) / {_num(max_quality)}; empty cell = unknown.",
        "\t".join(HEADER),
    ]
    for key in sorted(rows):
        lines.append("\t".join([key] + rows[key].cells(max_quality)))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def write_key_samples(out: Path, ids: list[str]) -> None:
    """id<TAB>keys joined by '|': the Rust tests check lookup_keys gives the same."""
    lines = ["# id\tlookup_keys (joined by |), written by scripts/build_knowledge.py --keys-out"]
    for mid in ids:
        if "\t" in mid or "\n" in mid:
            continue
        lines.append(f"{mid}\t{'|'.join(lookup_keys(mid))}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


# The source files: option, its place under --data-dir, what it is.
SOURCES = [
    ("litellm", "litellm_model_prices.json", "LiteLLM model_prices_and_context_window.json"),
    ("openrouter", "openrouter_models_all.json", "OpenRouter GET /api/v1/models (all models)"),
    ("openrouter_2025_07", "models/openrouter_2025-07.json", "an OpenRouter /models list of 2025-07"),
    ("provider_lists", "models", "directory of provider /models responses (<provider>.json)"),
    ("ollama_library", "models/ollama_library.json", "the ollama.com library (families and tags)"),
    ("model_names", "model_names.txt", "real model ids, one a line (read only with --keys-out)"),
]


def source_paths(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fill each source not given on its own from --data-dir; fail on any still missing."""
    for name, under_data_dir, _ in SOURCES:
        if getattr(args, name) is None and args.data_dir is not None:
            setattr(args, name, args.data_dir / under_data_dir)
    needed = [s for s in SOURCES if s[0] != "model_names" or args.keys_out]
    missing = ["--" + n.replace("_", "-") for n, _, _ in needed if getattr(args, n) is None]
    if missing:
        ap.error(f"name the source files: {', '.join(missing)} (or --data-dir DIR)")
    for name, _, _ in needed:
        path = getattr(args, name)
        if not (path.is_dir() if name == "provider_lists" else path.is_file()):
            ap.error(f"--{name.replace('_', '-')}: {path} does not exist")


def main() -> int:
    repo = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, under_data_dir, what in SOURCES:
        ap.add_argument("--" + name.replace("_", "-"), dest=name, type=Path, default=None,
                        help=f"{what} (DIR/{under_data_dir} with --data-dir)")
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="a directory holding every source file not named on its own")
    ap.add_argument("--out", type=Path, default=repo / "data" / "knowledge.tsv")
    ap.add_argument("--keys-out", type=Path, default=None,
                    help="also write id -> lookup_keys samples for the Rust tests")
    ap.add_argument("--report", action="store_true", help="print keys per vendor")
    ap.add_argument("--explain", metavar="KEY", help="print the facts merged into KEY's row")
    args = ap.parse_args()
    source_paths(ap, args)

    facts = curated_facts()
    facts += litellm_facts(args.litellm)
    facts += openrouter_facts(args.openrouter, T_OPENROUTER, "openrouter")
    facts += openrouter_facts(args.openrouter_2025_07, T_OPENROUTER_OLD, "openrouter-2025-07")
    facts += provider_list_facts(args.provider_lists)
    facts += ollama_facts(args.ollama_library)

    if args.explain:
        for f in sorted((f for f in facts if f.key == args.explain), key=lambda f: (f.tier, f.rank)):
            print(f.tier, f.origin, f.context, f.params, f.active, f.price, f.quality, f.kind)
        return 0
    rows = merge(facts)
    source_ids = sorted({f.origin.split(":", 1)[1] for f in facts if not f.origin.startswith(("openrouter:hf:", "openrouter-2025-07:hf:"))})
    add_family_rows(rows, source_ids)
    max_quality = max((f.quality for f in facts if f.quality), default=1.0)
    write_table(args.out, rows, max_quality, args.openrouter)
    if args.keys_out:
        write_key_samples(args.keys_out, _key_sample(args.model_names))
    if args.report:
        counts: dict[str, int] = {}
        for key in rows:
            v = vendor_of(key) or "other"
            counts[v] = counts.get(v, 0) + 1
        print(f"{len(rows)} keys, {args.out.stat().st_size} bytes", file=sys.stderr)
        for v, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"  {v}: {n}", file=sys.stderr)
    return 0


def _key_sample(names: Path) -> list[str]:
    """Every 11th real id plus hand-picked edge cases: about 1,300 lines, stable."""
    ids = names.read_text().splitlines()
    picked = ids[::11]
    picked += [
        "qwen2.5:7b-instruct-q4_K_M", "qwen/qwen3-30b-a3b:free", "anthropic/claude-3-haiku-20240307",
        "bedrock/us-east-1/anthropic.claude-3-haiku-20240307-v1:0", "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        "deepseek.v3.2", "openai/gpt-4o-2024-08-06", "gemma3:27b-it-qat", "Pro/deepseek-ai/DeepSeek-V3",
        "vertex_ai/claude-haiku-4-5@20251001", "accounts/fireworks/models/glm-4p5",
        "doubao-1-5-pro-256k-250115", "mistral-nemo:12b-instruct-2407-q4_0", "hf.co/x/Qwen2.5-7B-Instruct-GGUF:Q4_K_M",
        "", " ", ":", "/", "@", "-", "a:b:c", "x-2024-13-45", "UPPER/Case:Latest", "qwen3:30b-a3b",
        "\u0130stanbul-7b", "qwen\u00b2-7b", "x:1", "anthropic.claude-v2:1", "model--name-", "a-1-2-3",
        "gpt-4-0613", "r1-1776", "glm-4-7-251222", "kimi-k2p5", "us.meta.llama3-2-90b-instruct-v1:0",
        "llama3.1:8b-instruct-fp16", "phi3:3.8b-mini-128k-instruct-q4_0", "q4_k_m", "model:q4_K_M",
        "gemini-1.5-pro-002", "text-embedding-004", "global.", "us.x", "deepseek.", "a@b@c", "@x",
    ]
    return picked


if __name__ == "__main__":
    sys.exit(main())
