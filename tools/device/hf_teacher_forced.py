"""Reference side of the GPU correctness check: teacher-forced logits of transformers' Gemma2 (bf16, eager
attention) on the checkpoint that hf_peer_bench.py --save wrote, plain and steered (a forward hook adding
coef * v to decoder layer LAYER's output, the way Python steering code does it).
Usage: python3 hf_teacher_forced.py CKPT_DIR OUT_DIR"""
import sys, json, torch, numpy as np
from transformers import Gemma2ForCausalLM

ckpt, out = sys.argv[1], sys.argv[2]
LAYER, COEF, B, T = 12, 0.5, 4, 64
torch.manual_seed(1)
model = Gemma2ForCausalLM.from_pretrained(ckpt, dtype=torch.bfloat16, attn_implementation="eager").cuda().eval()
ids = torch.randint(10, 250000, (B, T))
ids[:, 0] = 2
v = torch.randn(model.config.hidden_size)
json.dump(ids.tolist(), open(f"{out}/ids.json", "w"))
json.dump(v.tolist(), open(f"{out}/v.json", "w"))
vb = v.to(torch.bfloat16).cuda()

def hook(mod, inp, o):
    h = o[0] if isinstance(o, tuple) else o
    h = h + COEF * vb
    return (h,) + tuple(o[1:]) if isinstance(o, tuple) else h

with torch.no_grad():
    plain = model(ids.cuda()).logits.float().cpu().numpy()
    hd = model.model.layers[LAYER].register_forward_hook(hook)
    steered = model(ids.cuda()).logits.float().cpu().numpy()
    hd.remove()
np.save(f"{out}/hf_plain.npy", plain)
np.save(f"{out}/hf_steered.npy", steered)
print(f"hf teacher-forced logits saved: {plain.shape}, layer {LAYER}, coef {COEF}", flush=True)
