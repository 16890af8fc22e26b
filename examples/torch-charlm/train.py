"""The training script autoresearch edits: a small causal transformer on characters.

Hyperparameters are top-level constants so the builtin search (and any LLM) can tune them.
It reads the platform settings autoresearch passes in and prints Karpathy's summary block.
"""
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from prepare import VOCAB_SIZE, evaluate_bpb, get_batch

LEARNING_RATE = 3e-3
WEIGHT_DECAY = 0.1
BATCH_SIZE = 64
BLOCK_SIZE = 64
N_LAYER = 2
N_HEAD = 4
N_EMBD = 128
DROPOUT = 0.0
WARMUP_STEPS = 20
SEED = 1337

TIME_BUDGET = float(os.environ.get("AUTORESEARCH_TIME_BUDGET", "30"))
DEVICE = os.environ.get("AUTORESEARCH_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
COMPILE = os.environ.get("AUTORESEARCH_COMPILE", "0") == "1"
AMP_DTYPE = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(os.environ.get("AUTORESEARCH_AMP_DTYPE", "fp32"))
BATCH_SCALE = float(os.environ.get("AUTORESEARCH_BATCH_SCALE", "1"))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(N_EMBD)
        self.attn = nn.Linear(N_EMBD, 3 * N_EMBD)
        self.proj = nn.Linear(N_EMBD, N_EMBD)
        self.ln2 = nn.LayerNorm(N_EMBD)
        self.mlp = nn.Sequential(nn.Linear(N_EMBD, 4 * N_EMBD), nn.GELU(), nn.Linear(4 * N_EMBD, N_EMBD), nn.Dropout(DROPOUT))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.attn(self.ln1(x)).split(N_EMBD, dim=2)
        q, k, v = (z.view(b, t, N_HEAD, c // N_HEAD).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=DROPOUT if self.training else 0.0)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp(self.ln2(x))


class CharLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB_SIZE, N_EMBD)
        self.pos = nn.Embedding(BLOCK_SIZE, N_EMBD)
        self.blocks = nn.Sequential(*[Block() for _ in range(N_LAYER)])
        self.ln = nn.LayerNorm(N_EMBD)
        self.head = nn.Linear(N_EMBD, VOCAB_SIZE)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        return self.head(self.ln(self.blocks(self.tok(idx) + self.pos(pos))))


def main():
    t0 = time.time()
    torch.manual_seed(SEED)
    model = CharLM().to(DEVICE)
    num_params = sum(p.numel() for p in model.parameters())
    step_model = torch.compile(model) if COMPILE else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    batch_size = max(1, int(BATCH_SIZE * BATCH_SCALE)) if DEVICE != "cuda" else BATCH_SIZE
    print(f"device: {DEVICE} compile: {COMPILE} amp: {AMP_DTYPE} batch: {batch_size}", flush=True)
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step, t_train = 0, time.time()
    while time.time() - t_train < TIME_BUDGET:
        lr = LEARNING_RATE * min(1.0, (step + 1) / max(1, WARMUP_STEPS))
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch("train", batch_size, BLOCK_SIZE, DEVICE)
        with torch.autocast(device_type="cuda" if DEVICE == "cuda" else "cpu", dtype=AMP_DTYPE, enabled=AMP_DTYPE is not None):
            loss = F.cross_entropy(step_model(x).float().view(-1, VOCAB_SIZE), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.4f}", flush=True)
    training_seconds = time.time() - t_train
    val_bpb = evaluate_bpb(model, BLOCK_SIZE, DEVICE)
    peak_vram_mb = torch.cuda.max_memory_allocated() / 1024 / 1024 if DEVICE == "cuda" else 0.0
    print("---")
    print(f"val_bpb:          {val_bpb:.6f}")
    print(f"training_seconds: {training_seconds:.1f}")
    print(f"total_seconds:    {time.time() - t0:.1f}")
    if DEVICE == "cuda":
        print(f"peak_vram_mb:     {peak_vram_mb:.1f}")
    print(f"num_steps:        {step}")
    print(f"num_params_M:     {num_params / 1e6:.2f}")
    print(f"depth:            {N_LAYER}")


if __name__ == "__main__":
    main()
