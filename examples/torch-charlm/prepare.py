"""Read-only: data, tokenizer and evaluation for the torch character-level LM example.

autoresearch never modifies this file; train.py imports from it.
"""
import math
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = open(os.path.join(HERE, "corpus.txt"), encoding="utf-8").read()
VOCAB = sorted(set(TEXT))
VOCAB_SIZE = len(VOCAB)
STOI = {ch: i for i, ch in enumerate(VOCAB)}

data = torch.tensor([STOI[c] for c in TEXT], dtype=torch.long)
# Every 8th block of 512 characters is validation; the split never changes.
blocks = data[: len(data) // 512 * 512].view(-1, 512)
is_val = torch.arange(len(blocks)) % 8 == 7
train_data = blocks[~is_val].flatten()
val_data = blocks[is_val].flatten()


def get_batch(split, batch_size, block_size, device, generator=None):
    source = train_data if split == "train" else val_data
    ix = torch.randint(len(source) - block_size - 1, (batch_size,), generator=generator)
    x = torch.stack([source[i : i + block_size] for i in ix])
    y = torch.stack([source[i + 1 : i + block_size + 1] for i in ix])
    return x.to(device), y.to(device)


@torch.no_grad()
def evaluate_bpb(model, block_size, device, split="val", batches=20, batch_size=32):
    """Bits per byte on a split (characters are ASCII: one byte each). The batches are fixed."""
    g = torch.Generator().manual_seed(0)
    model.eval()
    total = 0.0
    for _ in range(batches):
        x, y = get_batch(split, batch_size, block_size, device, g)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, VOCAB_SIZE), y.view(-1))
        total += loss.item()
    model.train()
    return total / batches / math.log(2)
