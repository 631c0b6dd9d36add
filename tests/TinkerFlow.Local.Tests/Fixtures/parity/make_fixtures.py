#!/usr/bin/env python3
"""Regenerate the reference-parity fixtures used by TinkerFlow's C# tests.

Builds three tiny random-weight decoder models with Hugging Face transformers' own
classes (no downloads), saves each with ``save_pretrained`` and records reference
logits computed by transformers in float32 on the CPU with eager attention.

Usage (needs torch, transformers, safetensors):

    python make_fixtures.py --out <dir>

writes <dir>/qwen3, <dir>/llama and <dir>/qwen3_tied, each holding
config.json, model.safetensors (as written by save_pretrained, plus
generation_config.json), expected.safetensors and expected.json.
See README.md beside this file for what each tensor means.
"""

from __future__ import annotations

import argparse
import json
import math
import os

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by use_deterministic_algorithms on CUDA
import platform
import sys

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

SEED = 0
BATCH = 2
SEQ = 12
VOCAB = 128
PROMPT_LEN = 6
NEW_TOKENS = 5
WEIGHT_STD = 0.1
NORM_NOISE = 0.1


def fixed_input_ids() -> torch.Tensor:
    """Deterministic [BATCH, SEQ] token ids in [0, VOCAB) from a closed formula (no RNG)."""
    b = torch.arange(BATCH, dtype=torch.int64).unsqueeze(1)
    t = torch.arange(SEQ, dtype=torch.int64).unsqueeze(0)
    return (17 + 31 * t + 53 * b + 7 * t * t) % VOCAB


def uses_rope_parameters(config_cls) -> bool:
    """transformers >= 5 keeps rope settings in ``rope_parameters``; 4.x in rope_theta/rope_scaling."""
    return hasattr(config_cls(), "rope_parameters")


def rope_kwargs(config_cls, theta: float, scaling: dict | None) -> dict:
    if uses_rope_parameters(config_cls):
        params = {"rope_type": "default", "rope_theta": theta}
        if scaling is not None:
            params = dict(scaling)
            params["rope_theta"] = theta
        return {"rope_parameters": params}
    return {"rope_theta": theta, "rope_scaling": dict(scaling) if scaling is not None else None}


def reference_inv_freq(head_dim: int, theta: float, scaling: dict | None) -> torch.Tensor:
    """Independent float64 computation of RoPE inverse frequencies (default / llama3)."""
    inv = [1.0 / theta ** (2 * i / head_dim) for i in range(head_dim // 2)]
    if scaling is None:
        return torch.tensor(inv, dtype=torch.float64)
    factor = scaling["factor"]
    low = scaling["low_freq_factor"]
    high = scaling["high_freq_factor"]
    old_ctx = scaling["original_max_position_embeddings"]
    low_wavelen = old_ctx / low
    high_wavelen = old_ctx / high
    out = []
    for f in inv:
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(f)
        elif wavelen > low_wavelen:
            out.append(f / factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            out.append((1 - smooth) * f / factor + smooth * f)
    return torch.tensor(out, dtype=torch.float64)


LLAMA3_SCALING = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,
}

COMMON = dict(
    vocab_size=VOCAB,
    hidden_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=256,
    attention_bias=False,
    hidden_act="silu",
    attn_implementation="eager",
)

SPECS = {
    "qwen3": dict(
        config_cls=Qwen3Config,
        model_cls=Qwen3ForCausalLM,
        theta=10000.0,
        scaling=None,
        extra=dict(intermediate_size=160, rms_norm_eps=1e-6, tie_word_embeddings=False, use_sliding_window=False),
    ),
    "llama": dict(
        config_cls=LlamaConfig,
        model_cls=LlamaForCausalLM,
        theta=500000.0,
        scaling=LLAMA3_SCALING,
        extra=dict(intermediate_size=176, rms_norm_eps=1e-5, tie_word_embeddings=True, mlp_bias=False),
    ),
    "qwen3_tied": dict(
        config_cls=Qwen3Config,
        model_cls=Qwen3ForCausalLM,
        theta=10000.0,
        scaling=None,
        extra=dict(intermediate_size=160, rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False),
    ),
}


def build_model(spec: dict):
    kwargs = dict(COMMON)
    kwargs.update(spec["extra"])
    kwargs.update(rope_kwargs(spec["config_cls"], spec["theta"], spec["scaling"]))
    config = spec["config_cls"](**kwargs)
    config._attn_implementation = "eager"
    model = spec["model_cls"](config).to(torch.float32)
    if getattr(model.config, "_attn_implementation", "eager") != "eager":
        model.set_attn_implementation("eager")
    model.eval()

    # Re-initialise every parameter from a private generator so the weights do not
    # depend on transformers' own init code. named_parameters() lists a tied
    # embedding/lm_head tensor once.
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if "norm" in name:
                p.copy_(1.0 + NORM_NOISE * noise)
            else:
                p.copy_(WEIGHT_STD * noise)
    if config.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr(), "tie failed"
    else:
        assert model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()
    return model


def check_rope(model, spec: dict) -> torch.Tensor:
    inv_freq = model.model.rotary_emb.inv_freq.detach().to(torch.float64).cpu()
    ref = reference_inv_freq(16, spec["theta"], spec["scaling"])
    err = (inv_freq - ref).abs().max().item()
    assert err < 1e-6 * max(1.0, ref.abs().max().item()), f"inv_freq mismatch {err}: {inv_freq} vs {ref}"
    scale = getattr(model.model.rotary_emb, "attention_scaling", 1.0)
    assert abs(float(scale) - 1.0) < 1e-12, f"unexpected attention_scaling {scale}"
    return inv_freq.to(torch.float32)


@torch.no_grad()
def greedy_with_cache(model, prompt: torch.Tensor):
    out = model(input_ids=prompt, use_cache=True)
    past = out.past_key_values
    step_logits = [out.logits[0, -1].clone()]
    tokens = [int(step_logits[-1].argmax())]
    for _ in range(NEW_TOKENS - 1):
        nxt = torch.tensor([[tokens[-1]]], dtype=torch.int64)
        out = model(input_ids=nxt, past_key_values=past, use_cache=True)
        past = out.past_key_values
        step_logits.append(out.logits[0, -1].clone())
        tokens.append(int(step_logits[-1].argmax()))
    return torch.tensor(tokens, dtype=torch.int64), torch.stack(step_logits)


def add_legacy_rope_keys(config_path: str, spec: dict) -> None:
    """Make config.json readable by both 4.x-style (top-level rope_theta/rope_scaling,
    as in most Hub checkpoints) and 5.x-style (rope_parameters) readers."""
    with open(config_path) as f:
        cfg = json.load(f)
    cfg.setdefault("rope_theta", spec["theta"])
    if cfg.get("rope_scaling") is None:
        cfg["rope_scaling"] = dict(spec["scaling"]) if spec["scaling"] is not None else None
    with open(config_path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


def save(model, out_dir: str) -> None:
    try:
        model.save_pretrained(out_dir, safe_serialization=True)
    except TypeError:  # transformers versions that dropped the argument always write safetensors
        model.save_pretrained(out_dir)


def make_one(name: str, spec: dict, root: str) -> dict:
    torch.manual_seed(SEED)
    out_dir = os.path.join(root, name)
    os.makedirs(out_dir, exist_ok=True)

    model = build_model(spec)
    inv_freq = check_rope(model, spec)
    input_ids = fixed_input_ids()

    with torch.no_grad():
        logits = model(input_ids=input_ids, use_cache=False).logits.float().contiguous()
    assert logits.shape == (BATCH, SEQ, VOCAB), logits.shape

    prompt = input_ids[:1, :PROMPT_LEN].clone()
    greedy_tokens, logits_step = greedy_with_cache(model, prompt)

    # KV-cache path must agree with a full no-cache forward over prompt + generated tokens.
    with torch.no_grad():
        full = torch.cat([prompt[0], greedy_tokens[:-1]]).unsqueeze(0)
        full_logits = model(input_ids=full, use_cache=False).logits[0, PROMPT_LEN - 1 :]
    cache_err = (full_logits - logits_step).abs().max().item()
    assert cache_err < 1e-4, f"cache vs full mismatch {cache_err}"

    save(model, out_dir)
    add_legacy_rope_keys(os.path.join(out_dir, "config.json"), spec)

    # Reload what was written and confirm it reproduces the reference logits.
    reloaded = AutoModelForCausalLM.from_pretrained(out_dir, attn_implementation="eager").to(torch.float32)
    reloaded.eval()
    check_rope(reloaded, spec)
    with torch.no_grad():
        re_logits = reloaded(input_ids=input_ids, use_cache=False).logits
    reload_err = (re_logits - logits).abs().max().item()
    assert reload_err == 0.0, f"reloaded model differs by {reload_err}"

    stored = load_file(os.path.join(out_dir, "model.safetensors"))
    for k, v in stored.items():
        assert v.dtype == torch.float32, (k, v.dtype)

    gpu_err = None
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        with torch.no_grad():
            g = model.to("cuda")(input_ids=input_ids.to("cuda"), use_cache=False).logits.cpu()
        model.to("cpu")
        gpu_err = (g - logits).abs().max().item()

    expected = {
        "input_ids": input_ids.contiguous(),
        "logits": logits,
        "greedy_prompt": prompt.contiguous(),
        "greedy_tokens": greedy_tokens.contiguous(),
        "logits_step": logits_step.float().contiguous(),
        "rope_inv_freq": inv_freq.contiguous(),
    }
    save_file(expected, os.path.join(out_dir, "expected.safetensors"), metadata={"generator": "make_fixtures.py"})

    info = {
        "fixture": name,
        "architecture": type(model).__name__,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": "cpu",
        "dtype": "float32",
        "attn_implementation": "eager",
        "seed": SEED,
        "weight_init": f"normal(0, {WEIGHT_STD}) for every weight; RMSNorm weights 1 + {NORM_NOISE}*normal",
        "tie_word_embeddings": bool(model.config.tie_word_embeddings),
        "stored_weight_names": sorted(stored.keys()),
        "input_ids": input_ids.tolist(),
        "input_ids_formula": "(17 + 31*t + 53*b + 7*t*t) % 128",
        "greedy_prompt": prompt.tolist(),
        "greedy_tokens": greedy_tokens.tolist(),
        "max_abs_logit": logits.abs().max().item(),
        "logit_std": logits.std().item(),
        "max_abs_logit_step": logits_step.abs().max().item(),
        "cache_vs_full_max_abs_diff": cache_err,
        "cuda_fp32_vs_cpu_max_abs_diff": gpu_err,
        "rope_inv_freq": inv_freq.tolist(),
        "tolerance_abs_logits": 1e-4,
    }
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")

    print(
        f"{name}: {info['architecture']} max|logit|={info['max_abs_logit']:.4f} std={info['logit_std']:.4f} "
        f"greedy={info['greedy_tokens']} cache_err={cache_err:.2e} gpu_err={gpu_err} "
        f"weights={len(stored)} tied={info['tie_word_embeddings']}"
    )
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)), help="output root folder")
    parser.add_argument("--only", nargs="*", choices=sorted(SPECS), help="subset of fixtures to build")
    args = parser.parse_args()

    torch.set_default_dtype(torch.float32)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    print(f"python {sys.version.split()[0]} torch {torch.__version__} transformers {transformers.__version__}")

    for name in args.only or list(SPECS):
        make_one(name, SPECS[name], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
