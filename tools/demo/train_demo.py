#!/usr/bin/python3
"""Trains a demo model that speaks, in place of a tiny model's random weights.

`archscope-cli make-model` writes the skeleton: llama.cpp's metadata, tokenizer and tensor
names with random weights. This script reads the skeleton's hyperparameters and weights,
trains them with PyTorch on token ids (`archscope-cli tokenize --chat` of the chats from
make_corpus.py), and writes the trained weights into a copy of the skeleton, tensor by
tensor at the same offsets, so the result is the same kind of file llama.cpp and archscope
read. The PyTorch forward pass is written from the architecture's definition; --check
compares it with `archscope-cli logits` on the skeleton before training.

    archscope-cli make-model --arch qwen3 --type f32 -o skeleton.gguf
    make_corpus.py | archscope-cli tokenize -m skeleton.gguf --chat > ids.txt
    train_demo.py skeleton.gguf ids.txt demo.gguf --minutes 30
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# ---- GGUF: just enough to read metadata and find each tensor's bytes ----------------------

GGUF_TYPES = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
TENSOR_DTYPES = {0: np.float32, 1: np.float16}  # the skeleton is written as f32 or f16


class Gguf:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            data = f.read()
        self.pos = 0

        def take(fmt):
            value = struct.unpack_from("<" + fmt, data, self.pos)
            self.pos += struct.calcsize("<" + fmt)
            return value[0]

        def string():
            n = take("Q")
            s = data[self.pos:self.pos + n].decode("utf-8", "replace")
            self.pos += n
            return s

        def value(kind):
            if kind == 8:
                return string()
            if kind == 9:
                item, n = take("I"), take("Q")
                return [value(item) for _ in range(n)]
            return take(GGUF_TYPES[kind])

        if data[:4] != b"GGUF":
            raise SystemExit(f"{path}: not a GGUF file")
        self.pos = 4
        take("I")
        n_tensors, n_kv = take("Q"), take("Q")
        self.meta = {}
        for _ in range(n_kv):
            key = string()
            self.meta[key] = value(take("I"))
        self.tensors = {}
        for _ in range(n_tensors):
            name = string()
            dims = [take("Q") for _ in range(take("I"))]
            kind, offset = take("I"), take("Q")
            self.tensors[name] = (dims, kind, offset)
        align = self.meta.get("general.alignment", 32)
        self.data_start = (self.pos + align - 1) // align * align
        self.bytes = data

    def array(self, name):
        dims, kind, offset = self.tensors[name]
        if kind not in TENSOR_DTYPES:
            raise SystemExit(f"{name}: type {kind} is not f32/f16; make the skeleton with --type f32 or f16")
        count = int(np.prod(dims))
        a = np.frombuffer(self.bytes, TENSOR_DTYPES[kind], count, self.data_start + offset)
        return torch.tensor(a.astype(np.float32)).reshape(list(reversed(dims)))


# ---- models -------------------------------------------------------------------------------


def rms_norm(x, weight, eps):
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return x * weight if weight is not None else x


def rope(x, positions, theta, dims, neox):
    """x: [..., T, heads, head_dim]; rotates the first `dims` dims (NeoX halves or adjacent pairs)."""
    half = dims // 2
    freqs = theta ** (-torch.arange(0, half, dtype=torch.float32) * 2 / dims)
    angles = positions[:, None].float() * freqs[None, :]
    cos, sin = angles.cos()[:, None, :], angles.sin()[:, None, :]  # [T, 1, half]: broadcast over heads
    rot, rest = x[..., :dims], x[..., dims:]
    if neox:
        a, b = rot[..., :half], rot[..., half:]
        rot = torch.cat([a * cos - b * sin, a * sin + b * cos], -1)
    else:
        a, b = rot[..., 0::2], rot[..., 1::2]
        rot = torch.stack([a * cos - b * sin, a * sin + b * cos], -1).flatten(-2)
    return torch.cat([rot, rest], -1)


class LlamaLike(torch.nn.Module):
    """Llama 3 and Qwen3 as llama.cpp runs them (src/models/llama.cpp, qwen3.cpp)."""

    def __init__(self, gguf):
        super().__init__()
        m, arch = gguf.meta, gguf.meta["general.architecture"]
        self.arch = arch
        self.layers = m[f"{arch}.block_count"]
        self.heads = m[f"{arch}.attention.head_count"]
        self.kv_heads = m[f"{arch}.attention.head_count_kv"]
        self.eps = m[f"{arch}.attention.layer_norm_rms_epsilon"]
        self.theta = m[f"{arch}.rope.freq_base"]
        self.neox = arch != "llama"
        self.params = torch.nn.ParameterDict()
        for name in gguf.tensors:
            self.params[name.replace(".", "__")] = torch.nn.Parameter(gguf.array(name))
        self.head_dim = self.p("blk.0.attn_q.weight").shape[0] // self.heads

    def p(self, name):
        key = name.replace(".", "__")
        return self.params[key] if key in self.params else None

    def forward(self, tokens):  # tokens: [B, T] -> logits [B, T, vocab]
        B, T = tokens.shape
        x = self.p("token_embd.weight")[tokens]
        positions = torch.arange(T)
        mask = torch.full((T, T), float("-inf")).triu(1)
        for il in range(self.layers):
            w = lambda n: self.p(f"blk.{il}.{n}.weight")
            h = rms_norm(x, w("attn_norm"), self.eps)
            q = (h @ w("attn_q").T).view(B, T, self.heads, self.head_dim)
            k = (h @ w("attn_k").T).view(B, T, self.kv_heads, self.head_dim)
            v = (h @ w("attn_v").T).view(B, T, self.kv_heads, self.head_dim)
            if w("attn_q_norm") is not None:
                q, k = rms_norm(q, w("attn_q_norm"), self.eps), rms_norm(k, w("attn_k_norm"), self.eps)
            q = rope(q, positions, self.theta, self.head_dim, self.neox)
            k = rope(k, positions, self.theta, self.head_dim, self.neox)
            group = self.heads // self.kv_heads
            k, v = k.repeat_interleave(group, 2), v.repeat_interleave(group, 2)
            scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(self.head_dim) + mask
            att = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v).reshape(B, T, -1)
            x = x + att @ w("attn_output").T
            h = rms_norm(x, w("ffn_norm"), self.eps)
            x = x + (F.silu(h @ w("ffn_gate").T) * (h @ w("ffn_up").T)) @ w("ffn_down").T
        x = rms_norm(x, self.p("output_norm.weight"), self.eps)
        head = self.p("output.weight")
        return x @ (head if head is not None else self.p("token_embd.weight")).T


MODELS = {"llama": LlamaLike, "qwen3": LlamaLike}

# ---- steps --------------------------------------------------------------------------------


def check(model, skeleton, cli):
    """The PyTorch forward against archscope's CPU reference path on the skeleton."""
    tokens = [5, 77, 300, 12, 450, 9, 123]
    out = subprocess.run([cli, "logits", "-m", skeleton, "--device", "cpu", "--cache-type", "f32", "--tokens",
                          ",".join(map(str, tokens)), "--top", "5", "--json"], check=True, capture_output=True, text=True)
    expected = json.loads(out.stdout)["top"]
    with torch.no_grad():
        probs = model(torch.tensor([tokens]))[0, -1].softmax(-1)
    worst = max(abs(probs[e["id"]].item() - e["p"]) for e in expected)
    print(f"check: PyTorch vs archscope top-5 probabilities differ by at most {worst:.2e}")
    if worst > 1e-4:
        raise SystemExit("check failed: the PyTorch forward pass does not match archscope")


def load_ids(path, seq):
    """Conversations packed into rows of seq + 1 tokens (none straddles two rows); the tail
    of a row is filled with -100, which the loss ignores."""
    rows, row = [], []
    with open(path) as f:
        for line in f:
            ids = [int(t) for t in line.split()]
            if len(ids) > seq + 1:
                continue
            if len(row) + len(ids) > seq + 1:
                rows.append(row + [-100] * (seq + 1 - len(row)))
                row = []
            row += ids
    return torch.tensor(rows)


def save(model, gguf, out):
    data = bytearray(gguf.bytes)
    for name, (dims, kind, offset) in gguf.tensors.items():
        a = model.p(name).detach().numpy().astype(TENSOR_DTYPES[kind]).tobytes()
        start = gguf.data_start + offset
        data[start:start + len(a)] = a
    with open(out, "wb") as f:
        f.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("skeleton")
    parser.add_argument("ids")
    parser.add_argument("out")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--cli", default="build/app/archscope-cli")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    gguf = Gguf(args.skeleton)
    arch = gguf.meta["general.architecture"]
    if arch not in MODELS:
        raise SystemExit(f"no PyTorch model for {arch} yet (have {', '.join(MODELS)})")
    model = MODELS[arch](gguf)
    check(model, args.skeleton, args.cli)

    rows = load_ids(args.ids, args.seq)
    print(f"{len(rows)} rows of {args.seq} tokens; training for {args.minutes} minutes")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, betas=(0.9, 0.95))
    started, step = time.time(), 0
    budget = args.minutes * 60
    while time.time() - started < budget:
        batch = rows[torch.randint(len(rows), (args.batch,))]
        frac = (time.time() - started) / budget
        for g in opt.param_groups:  # warm up, then cosine down to a tenth
            g["lr"] = args.lr * min(1.0, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        logits = model(batch[:, :-1].clamp(min=0))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 20 == 0:
            print(f"step {step:5d}  {time.time() - started:6.0f} s  loss {loss.item():.3f}", flush=True)
        step += 1
    save(model, gguf, args.out)
    print(f"wrote {args.out} after {step} steps, loss {loss.item():.3f}")


if __name__ == "__main__":
    sys.exit(main())
