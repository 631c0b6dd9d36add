"""Pretrains the built-in model tinkerflow/tiny-qwen3 (full parameters) and writes its shipped weights.

Two steps, both deterministic:
  1. dotnet run -c Release --project tools/PretrainBuiltin -- --corpus-out .pretrain/corpus.bin --corpus-tokens 6000000
     (the synthetic corpus of src/TinkerFlow.Local/BuiltinModels/PretrainingCorpus.cs, tokenized with the model's own
     tokenizer, uint16 little-endian, documents separated by <|endoftext|>)
  2. python tools/pretrain_builtin.py --corpus .pretrain/corpus.bin --out src/TinkerFlow.Local/BuiltinModels/tiny-qwen3
     (Hugging Face transformers' Qwen3ForCausalLM built from the shipped config.json; a GPU makes it take seconds,
     a CPU works too). Only model.safetensors is written; config and tokenizer stay as shipped.
tools/PretrainBuiltin can also train on the CPU in C# (slower; same corpus, same schedule shape).
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import Qwen3Config, Qwen3ForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--corpus", required=True)
p.add_argument("--out", required=True)
p.add_argument("--config", default="src/TinkerFlow.Local/BuiltinModels/tiny-qwen3/config.json")
p.add_argument("--steps", type=int, default=1500)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--lr", type=float, default=2e-3)
p.add_argument("--warmup", type=int, default=50)
p.add_argument("--seed", type=int, default=20261122)
args = p.parse_args()

torch.manual_seed(args.seed)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
device = "cuda" if torch.cuda.is_available() else "cpu"
with open(args.config) as f:
    cfg = json.load(f)
config = Qwen3Config(**{k: v for k, v in cfg.items() if k not in ("architectures", "torch_dtype", "transformers_version")})
config._attn_implementation = "eager"
model = Qwen3ForCausalLM(config).to(device).float()

corpus = torch.from_numpy(np.fromfile(args.corpus, dtype="<u2").astype(np.int64))
window = args.seq + 1
n_windows = len(corpus) // window
data = corpus[: n_windows * window].view(n_windows, window)
gen = torch.Generator().manual_seed(args.seed)
order = torch.randperm(n_windows, generator=gen)
print(f"corpus {len(corpus)} tokens, {n_windows} windows, device {device}, params {sum(p.numel() for p in model.parameters())}")

opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)


def lr_at(step):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


start = time.time()
cursor = 0
for step in range(args.steps):
    idx = order[torch.arange(cursor, cursor + args.batch) % n_windows]
    cursor += args.batch
    batch = data[idx].to(device)
    logits = model(input_ids=batch[:, :-1]).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    for g in opt.param_groups:
        g["lr"] = lr_at(step)
    opt.step()
    if step % 100 == 0 or step == args.steps - 1:
        print(f"step {step:5d} loss {loss.item():.4f} lr {lr_at(step):.2e} {time.time() - start:.1f}s", flush=True)

state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
if cfg.get("tie_word_embeddings"):
    state.pop("lm_head.weight", None)
os.makedirs(args.out, exist_ok=True)
save_file(state, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt", "source": "tools/pretrain_builtin.py"})

# Quick check: greedy exact-match accuracy on 200 random two-digit additions (bytes = token ids for digits/+/=).
model.eval()
rng = np.random.default_rng(1)
correct = 0
with torch.no_grad():
    for _ in range(200):
        a, b = int(rng.integers(0, 100)), int(rng.integers(0, 100))
        ids = torch.tensor([[ord(c) for c in f"{a}+{b}="]], device=device)
        for _ in range(4):
            nxt = model(input_ids=ids).logits[0, -1].argmax().view(1, 1)
            ids = torch.cat([ids, nxt], dim=1)
        text = "".join(chr(t) if t < 256 else " " for t in ids[0].tolist())
        correct += text.split("=")[1].startswith(str(a + b)) and not text.split("=")[1][len(str(a + b)):][:1].isdigit()
print(f"arithmetic exact match {correct / 200:.2f}")
print("done", f"{time.time() - start:.1f}s")
