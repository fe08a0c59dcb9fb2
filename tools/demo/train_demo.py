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

Models: llama and qwen3 (LlamaLike), gemma4 (Gemma4; the `demo` preset is models/demo/'s).
To ship a smaller file, train on an f32 skeleton and write into an f16 one of the same
preset: --save-into skeleton-f16.gguf.
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


def rope(x, positions, theta, dims, neox, factors=None):
    """x: [..., T, heads, head_dim]; rotates the first `dims` dims (NeoX halves or adjacent pairs),
    pair i at positions * theta^(-2i/dims) / factors[i] (llama.cpp's freq_factors, rope_freqs)."""
    half = dims // 2
    freqs = theta ** (-torch.arange(0, half, dtype=torch.float32) * 2 / dims)
    if factors is not None:
        freqs = freqs / factors
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


def causal_mask(T, window=0):
    """[T, T] additive mask: query i sees key j <= i, and with a window only i - j < window."""
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    visible = (j <= i) & ((i - j < window) if window > 0 else True)
    return torch.zeros(T, T).masked_fill(~visible, float("-inf"))


def attend(q, k, v, mask, scale):
    """q: [B, T, H, dk], k/v: [B, T, KV, d] (grouped-query) -> [B, T, H * dv]."""
    B, T, heads = q.shape[:3]
    group = heads // k.shape[2]
    k, v = k.repeat_interleave(group, 2), v.repeat_interleave(group, 2)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) * scale + mask
    return torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v).reshape(B, T, -1)


class GgufModel(torch.nn.Module):
    """The skeleton's tensors as parameters, by GGUF name (those in `frozen` as constants)."""

    frozen = ()

    def __init__(self, gguf):
        super().__init__()
        m, arch = gguf.meta, gguf.meta["general.architecture"]
        self.arch = arch
        self.hp = lambda key, *default: m.get(f"{arch}.{key}", *default) if default else m[f"{arch}.{key}"]
        self.params = torch.nn.ParameterDict()
        self.constants = {}
        for name in gguf.tensors:
            if name in self.frozen:
                self.constants[name] = gguf.array(name)
            else:
                self.params[name.replace(".", "__")] = torch.nn.Parameter(gguf.array(name))

    def p(self, name):
        key = name.replace(".", "__")
        return self.params[key] if key in self.params else self.constants.get(name)


class LlamaLike(GgufModel):
    """Llama 3 and Qwen3 as llama.cpp runs them (src/models/llama.cpp, qwen3.cpp)."""

    def __init__(self, gguf):
        super().__init__(gguf)
        self.layers = self.hp("block_count")
        self.heads = self.hp("attention.head_count")
        self.kv_heads = self.hp("attention.head_count_kv")
        self.eps = self.hp("attention.layer_norm_rms_epsilon")
        self.theta = self.hp("rope.freq_base")
        self.neox = self.arch != "llama"
        self.head_dim = self.p("blk.0.attn_q.weight").shape[0] // self.heads

    def forward(self, tokens):  # tokens: [B, T] -> logits [B, T, vocab]
        B, T = tokens.shape
        x = self.p("token_embd.weight")[tokens]
        positions = torch.arange(T)
        mask = causal_mask(T)
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
            att = attend(q, k, v, mask, 1 / math.sqrt(self.head_dim))
            x = x + att @ w("attn_output").T
            h = rms_norm(x, w("ffn_norm"), self.eps)
            x = x + (F.silu(h @ w("ffn_gate").T) * (h @ w("ffn_up").T)) @ w("ffn_down").T
        x = rms_norm(x, self.p("output_norm.weight"), self.eps)
        head = self.p("output.weight")
        return x @ (head if head is not None else self.p("token_embd.weight")).T


class Gemma4(GgufModel):
    """Gemma 4 (dense, E2B-like) as archscope runs it (engine/src/runtime/programs/
    gemma4_program.cpp, after llama.cpp src/models/gemma4.cpp): embeddings times sqrt(d),
    per-layer embeddings, sliding and global layers with their own head dims and RoPE
    (global: proportional, through rope_freqs), QK-norm, V-norm without weight, attention
    scale 1, KV sharing, sandwich norms, GELU-tanh, layer output scales, a final softcap."""

    frozen = ("rope_freqs.weight",)

    def __init__(self, gguf):
        super().__init__(gguf)
        self.layers = self.hp("block_count")
        self.heads = self.hp("attention.head_count")
        self.kv_heads = self.hp("attention.head_count_kv")
        self.eps = self.hp("attention.layer_norm_rms_epsilon")
        self.hidden = self.hp("embedding_length")
        self.ple = self.hp("embedding_length_per_layer_input", 0)
        self.window = self.hp("attention.sliding_window")
        self.softcap = self.hp("final_logit_softcapping", 30.0)
        self.sliding = self.hp("attention.sliding_window_pattern")
        self.head_dim = {True: self.hp("attention.key_length_swa"), False: self.hp("attention.key_length")}
        self.theta = {True: self.hp("rope.freq_base_swa", 10000.0), False: self.hp("rope.freq_base")}
        self.rope_dims = {True: self.hp("rope.dimension_count_swa"), False: self.hp("rope.dimension_count")}
        # llama.cpp's layer_reuse_cb: shared sliding layers read layer n_kv - 2, global ones n_kv - 1.
        n_kv = self.layers - self.hp("attention.shared_kv_layers", 0)
        self.kv_source = [il if il < n_kv else n_kv - (2 if self.sliding[il] else 1) for il in range(self.layers)]

    def forward(self, tokens):  # tokens: [B, T] -> logits [B, T, vocab]
        B, T = tokens.shape
        d, p, L, eps = self.hidden, self.ple, self.layers, self.eps
        x = self.p("token_embd.weight")[tokens] * math.sqrt(d)
        if p > 0:
            ple = (x @ self.p("per_layer_model_proj.weight").T / math.sqrt(d)).view(B, T, L, p)
            ple = rms_norm(ple, self.p("per_layer_proj_norm.weight"), eps)
            ple = (ple + self.p("per_layer_token_embd.weight")[tokens].view(B, T, L, p) * math.sqrt(p)) / math.sqrt(2)
        positions = torch.arange(T)
        masks = {True: causal_mask(T, self.window), False: causal_mask(T)}
        factors = {True: None, False: self.p("rope_freqs.weight")}
        kv = {}
        for il in range(L):
            w = lambda n: self.p(f"blk.{il}.{n}.weight")
            swa, dk = self.sliding[il], self.head_dim[self.sliding[il]]
            turn = lambda t: rope(t, positions, self.theta[swa], self.rope_dims[swa], True, factors[swa])
            h = rms_norm(x, w("attn_norm"), eps)
            q = turn(rms_norm((h @ w("attn_q").T).view(B, T, self.heads, dk), w("attn_q_norm"), eps))
            if self.kv_source[il] == il:
                k = turn(rms_norm((h @ w("attn_k").T).view(B, T, self.kv_heads, dk), w("attn_k_norm"), eps))
                v = rms_norm((h @ w("attn_v").T).view(B, T, self.kv_heads, dk), None, eps)
                kv[il] = k, v
            att = attend(q, *kv[self.kv_source[il]], masks[swa], 1.0)
            x = x + rms_norm(att @ w("attn_output").T, w("post_attention_norm"), eps)
            h = rms_norm(x, w("ffn_norm"), eps)
            mlp = (F.gelu(h @ w("ffn_gate").T, approximate="tanh") * (h @ w("ffn_up").T)) @ w("ffn_down").T
            x = x + rms_norm(mlp, w("post_ffw_norm"), eps)
            if p > 0:
                gate = F.gelu(x @ w("inp_gate").T, approximate="tanh") * ple[:, :, il]
                x = x + rms_norm(gate @ w("proj").T, w("post_norm"), eps)
            if w("layer_output_scale") is not None:
                x = x * w("layer_output_scale")
        x = rms_norm(x, self.p("output_norm.weight"), eps)
        head = self.p("output.weight")
        logits = x @ (head if head is not None else self.p("token_embd.weight")).T
        return self.softcap * torch.tanh(logits / self.softcap) if self.softcap > 0 else logits


MODELS = {"llama": LlamaLike, "qwen3": LlamaLike, "gemma4": Gemma4}

# ---- steps --------------------------------------------------------------------------------


def check(model, skeleton, cli):
    """The PyTorch forward against archscope's CPU reference path on the skeleton, after a
    prompt of 80 tokens (longer than a demo's sliding window)."""
    tokens = [(5 + 77 * i) % 500 for i in range(80)]
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
    rows, row, left_out = [], [], 0
    with open(path) as f:
        for line in f:
            ids = [int(t) for t in line.split()]
            if len(ids) > seq + 1:
                left_out += 1
                continue
            if len(row) + len(ids) > seq + 1:
                rows.append(row + [-100] * (seq + 1 - len(row)))
                row = []
            row += ids
    if left_out:
        print(f"{left_out} conversations longer than {seq + 1} tokens left out (raise --seq to keep them)")
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
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--save-into", metavar="SKELETON",
                        help="write the trained weights into this skeleton instead (the same preset, another "
                        "tensor type: train on an f32 skeleton, save into an f16 one)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, args.threads))

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
    target = Gguf(args.save_into) if args.save_into else gguf
    if {n: t[0] for n, t in target.tensors.items()} != {n: t[0] for n, t in gguf.tensors.items()}:
        raise SystemExit(f"{args.save_into}: not the same tensors as {args.skeleton}")
    save(model, target, args.out)
    print(f"wrote {args.out} after {step} steps, loss {loss.item():.3f}")


if __name__ == "__main__":
    sys.exit(main())
