"""Compares steer's teacher-forced logits (raw little-endian float32 [B, T, V]) with transformers'.
Usage: python3 compare_logits.py HF.npy STEER.f32 LABEL"""
import sys, numpy as np
hf = np.load(sys.argv[1])
st = np.fromfile(sys.argv[2], dtype="<f4").reshape(hf.shape)
top = (hf.argmax(-1) == st.argmax(-1)).mean()
d = np.abs(hf - st)
print(f"{sys.argv[3]}: top-1 agreement {100*top:.2f}% of {hf.shape[0]*hf.shape[1]} positions, "
      f"max |dlogit| {d.max():.4f}, mean |dlogit| {d.mean():.5f} -> {'PASS' if top >= 0.99 else 'FAIL'}", flush=True)
