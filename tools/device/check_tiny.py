"""Checks `steer generate --format json` output on the tiny fixture against the transformers reference tokens.
Usage: python3 check_tiny.py REFERENCE.json PLAIN.json STEERED.json"""
import sys, json
ref = json.load(open(sys.argv[1]))
plain = json.load(open(sys.argv[2]))["results"]
steered = json.load(open(sys.argv[3]))["results"]
ok = True
for i, g in enumerate(ref["greedy"]):
    p, s = plain[i]["tokens"], steered[i]["tokens"]
    good = p == g["plain"] and s == g["steered"]
    ok &= good
    print(f"tiny prompt {i}: plain {'==' if p == g['plain'] else '!='} ref, steered {'==' if s == g['steered'] else '!='} ref")
print("tiny fixture greedy tokens (cuda f32):", "PASS" if ok else "FAIL", flush=True)
