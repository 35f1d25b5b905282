#!/usr/bin/env python3
"""A gemma-2-2b-shaped GGUF with random weights, for llama.cpp as the CPU peer of `steer bench --random gemma-2-2b`.

  python3 make-gguf.py OUT.gguf F32|BF16 [--seed N]

Same tensors, shapes and hyper-parameters as google/gemma-2-2b (26 layers, hidden 2304, 8 heads of 256, 4 KV heads,
MLP 9216, vocabulary 256000, the output head tied to token_embd as llama.cpp's gemma2 loader expects; 2.61 B
parameters: 10.5 GB as F32, 5.2 GB as BF16). Weights are normal(0, 0.02) (norm weights 0: Gemma's 1 + w), so the
numbers flowing through are finite and not denormal; only the shapes matter for speed. The vocabulary is placeholders
with SentencePiece's byte tokens, enough for llama.cpp to load it; the benchmark feeds token ids, never text.
Needs numpy. Writes OUT.gguf.tmp and renames it when complete.
"""
import argparse
import os
import struct
import sys

import numpy as np

HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, MLP, VOCAB = 2304, 26, 8, 4, 256, 9216, 256000
GGML_F32, GGML_BF16 = 0, 30
ALIGN = 32


def s(text):
    b = text.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def u32(key, v):
    return kv(key, 4, struct.pack("<I", v))


def f32(key, v):
    return kv(key, 6, struct.pack("<f", v))


def string(key, v):
    return kv(key, 8, s(v))


def tensors():
    """(name, [ne0, ne1, ...] innermost first as GGUF stores them, norm?)"""
    out = [("token_embd.weight", [HIDDEN, VOCAB], False)]
    for i in range(LAYERS):
        p = f"blk.{i}."
        out += [
            (p + "attn_norm.weight", [HIDDEN], True),
            (p + "attn_q.weight", [HIDDEN, HEADS * HEAD_DIM], False),
            (p + "attn_k.weight", [HIDDEN, KV_HEADS * HEAD_DIM], False),
            (p + "attn_v.weight", [HIDDEN, KV_HEADS * HEAD_DIM], False),
            (p + "attn_output.weight", [HEADS * HEAD_DIM, HIDDEN], False),
            (p + "post_attention_norm.weight", [HIDDEN], True),
            (p + "ffn_norm.weight", [HIDDEN], True),
            (p + "ffn_gate.weight", [HIDDEN, MLP], False),
            (p + "ffn_up.weight", [HIDDEN, MLP], False),
            (p + "ffn_down.weight", [MLP, HIDDEN], False),
            (p + "post_ffw_norm.weight", [HIDDEN], True),
        ]
    out.append(("output_norm.weight", [HIDDEN], True))
    return out


def vocab():
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [3, 3, 3, 2] + [6] * 256
    tokens += [f"tok{i}" for i in range(VOCAB - len(tokens))]
    types += [1] * (VOCAB - len(types))
    return tokens, types


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("dtype", choices=["F32", "BF16"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    gtype, esize = (GGML_F32, 4) if args.dtype == "F32" else (GGML_BF16, 2)

    tokens, types = vocab()
    meta = [
        string("general.architecture", "gemma2"),
        string("general.name", "gemma-2-2b-shape-random"),
        u32("general.file_type", 0 if gtype == GGML_F32 else 32),
        u32("general.alignment", ALIGN),
        u32("gemma2.context_length", 8192),
        u32("gemma2.embedding_length", HIDDEN),
        u32("gemma2.block_count", LAYERS),
        u32("gemma2.feed_forward_length", MLP),
        u32("gemma2.attention.head_count", HEADS),
        u32("gemma2.attention.head_count_kv", KV_HEADS),
        u32("gemma2.attention.key_length", HEAD_DIM),
        u32("gemma2.attention.value_length", HEAD_DIM),
        u32("gemma2.attention.sliding_window", 4096),
        f32("gemma2.attention.layer_norm_rms_epsilon", 1e-6),
        f32("gemma2.attn_logit_softcapping", 50.0),
        f32("gemma2.final_logit_softcapping", 30.0),
        string("tokenizer.ggml.model", "llama"),
        kv("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(tokens)) + b"".join(s(t) for t in tokens)),
        kv("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, len(tokens))
           + np.arange(0, -len(tokens), -1, dtype="<f4").tobytes()),
        kv("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, len(types)) + np.array(types, "<i4").tobytes()),
        u32("tokenizer.ggml.bos_token_id", 2),
        u32("tokenizer.ggml.eos_token_id", 1),
        u32("tokenizer.ggml.unknown_token_id", 3),
        u32("tokenizer.ggml.padding_token_id", 0),
    ]
    infos, offset, layout = [], 0, []
    for name, dims, norm in tensors():
        n = int(np.prod(dims))
        ttype = GGML_F32 if norm else gtype  # llama.cpp keeps norm weights in F32
        nbytes = n * (4 if ttype == GGML_F32 else esize)
        infos.append(s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
                     + struct.pack("<IQ", ttype, offset))
        layout.append((name, n, ttype, norm, offset))
        offset += (nbytes + ALIGN - 1) // ALIGN * ALIGN
    head = b"GGUF" + struct.pack("<IQQ", 3, len(infos), len(meta)) + b"".join(meta) + b"".join(infos)
    head += b"\0" * ((-len(head)) % ALIGN)

    rng = np.random.default_rng(args.seed)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        base = f.tell()
        for name, n, ttype, norm, off in layout:
            f.seek(base + off)
            if norm:
                f.write(np.zeros(n, "<f4").tobytes())
                continue
            chunk = 1 << 24
            for start in range(0, n, chunk):
                x = (rng.standard_normal(min(chunk, n - start), dtype=np.float32) * 0.02).astype("<f4")
                f.write(x.tobytes() if ttype == GGML_F32 else (x.view("<u4") >> 16).astype("<u2").tobytes())
        f.truncate(base + offset)
    os.replace(tmp, args.out)
    print(f"{args.out}: {len(layout)} tensors, {offset / 1e9:.2f} GB of tensor data ({args.dtype})", file=sys.stderr)


if __name__ == "__main__":
    main()
