"""The training script autoresearch edits: a small causal transformer on characters.

Everything worth tuning is a top-level constant below, so the builtin search (and any LLM) can
change it with one edit. The script trains for a fixed wall-clock budget, then prints
Karpathy's summary block; `val_bpb` (bits per byte on the validation split, lower is better)
is the metric.
"""
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from prepare import VOCAB_SIZE, evaluate_bpb, get_batch

# Hyperparameters: the research loop edits these.
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 0.1
BATCH_SIZE = 32
BLOCK_SIZE = 64
N_LAYER = 2
N_HEAD = 4
N_EMBD = 64
DROPOUT = 0.1
WARMUP_STEPS = 10
GRAD_CLIP = 1.0

# Run settings: autoresearch passes these in; the defaults suit a plain `python train.py`.
TIME_BUDGET = float(os.environ.get("AUTORESEARCH_TIME_BUDGET", "10"))
DEVICE = os.environ.get("AUTORESEARCH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
COMPILE = os.environ.get("AUTORESEARCH_COMPILE", "0") == "1" and hasattr(torch, "compile")
AMP_DTYPE = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(os.environ.get("AUTORESEARCH_AMP_DTYPE", "fp32"))
BATCH_SCALE = float(os.environ.get("AUTORESEARCH_BATCH_SCALE", "1"))
# A fixed seed makes two runs of one configuration differ only by how many steps fit the budget.
SEED = int(os.environ.get("AUTORESEARCH_SEED", "1337"))
# CPU threads: OMP_NUM_THREADS when set, else one. On a shared machine more threads mostly wait
# on each other (a step got up to 10x slower with two on a busy 2-core box); one also leaves it usable.
THREADS = int(os.environ.get("OMP_NUM_THREADS") or 1)
# torch < 2.0 (Debian 12's python3-torch is 1.13) has no fused attention: fall back to the manual form.
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(N_EMBD)
        self.attn = nn.Linear(N_EMBD, 3 * N_EMBD)
        self.proj = nn.Linear(N_EMBD, N_EMBD)
        self.drop = nn.Dropout(DROPOUT)
        self.ln2 = nn.LayerNorm(N_EMBD)
        self.mlp = nn.Sequential(nn.Linear(N_EMBD, 4 * N_EMBD), nn.GELU(), nn.Linear(4 * N_EMBD, N_EMBD), nn.Dropout(DROPOUT))
        if not HAS_SDPA:
            self.register_buffer("mask", torch.tril(torch.ones(BLOCK_SIZE, BLOCK_SIZE, dtype=torch.bool)), persistent=False)

    def attention(self, q, k, v):
        p = DROPOUT if self.training else 0.0
        if HAS_SDPA:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
        t = q.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        att = att.masked_fill(~self.mask[:t, :t], float("-inf"))
        return F.dropout(att.softmax(dim=-1), p=p, training=self.training) @ v

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.attn(self.ln1(x)).split(N_EMBD, dim=2)
        q, k, v = (z.view(b, t, N_HEAD, c // N_HEAD).transpose(1, 2) for z in (q, k, v))
        y = self.attention(q, k, v).transpose(1, 2).reshape(b, t, c)
        x = x + self.drop(self.proj(y))
        return x + self.mlp(self.ln2(x))


class CharLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB_SIZE, N_EMBD)
        self.pos = nn.Embedding(BLOCK_SIZE, N_EMBD)
        self.drop = nn.Dropout(DROPOUT)
        self.blocks = nn.Sequential(*[Block() for _ in range(N_LAYER)])
        self.ln = nn.LayerNorm(N_EMBD)
        self.head = nn.Linear(N_EMBD, VOCAB_SIZE)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        return self.head(self.ln(self.blocks(self.drop(self.tok(idx) + self.pos(pos)))))


def main():
    t0 = time.time()
    torch.manual_seed(SEED)
    if DEVICE == "cpu":
        torch.set_num_threads(THREADS)
    model = CharLM().to(DEVICE)
    num_params = sum(p.numel() for p in model.parameters())
    step_model = torch.compile(model) if COMPILE else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    batch_size = max(1, int(BATCH_SIZE * BATCH_SCALE)) if DEVICE != "cuda" else BATCH_SIZE
    print(f"device: {DEVICE} threads: {torch.get_num_threads()} compile: {COMPILE} amp: {AMP_DTYPE} sdpa: {HAS_SDPA} batch: {batch_size}", flush=True)
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step, t_train = 0, time.time()
    while True:
        progress = (time.time() - t_train) / TIME_BUDGET
        if progress >= 1.0:
            break
        # Linear warmup, then cosine decay to zero at the end of the budget (whatever the step count).
        lr = LEARNING_RATE * min(1.0, (step + 1) / max(1, WARMUP_STEPS)) * 0.5 * (1.0 + math.cos(math.pi * progress))
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch("train", batch_size, BLOCK_SIZE, DEVICE)
        with torch.autocast(device_type="cuda" if DEVICE == "cuda" else "cpu", dtype=AMP_DTYPE, enabled=AMP_DTYPE is not None):
            loss = F.cross_entropy(step_model(x).float().view(-1, VOCAB_SIZE), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if GRAD_CLIP > 0:
            nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        step += 1
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e}", flush=True)
    training_seconds = time.time() - t_train
    val_bpb = evaluate_bpb(model, BLOCK_SIZE, DEVICE, split="val")
    # The same measure on training text: a train_bpb far below val_bpb means the model memorises.
    train_bpb = evaluate_bpb(model, BLOCK_SIZE, DEVICE, split="train", batches=10)
    peak_vram_mb = torch.cuda.max_memory_allocated() / 1024 / 1024 if DEVICE == "cuda" else 0.0
    print("---")
    print(f"val_bpb:          {val_bpb:.6f}")
    print(f"train_bpb:        {train_bpb:.6f}")
    print(f"training_seconds: {training_seconds:.1f}")
    print(f"total_seconds:    {time.time() - t0:.1f}")
    if DEVICE == "cuda":
        print(f"peak_vram_mb:     {peak_vram_mb:.1f}")
    print(f"num_steps:        {step}")
    print(f"num_params_M:     {num_params / 1e6:.3f}")
    print(f"depth:            {N_LAYER}")


if __name__ == "__main__":
    main()
