// llama.cpp (through node-llama-cpp's prebuilt CPU build) on the shapes of `steer bench --random gemma-2-2b`:
//   node bench.mjs MODEL.gguf [--threads 2] [--prompt-len 16] [--new-tokens 32] [--repeats 3]
// Each repeat clears the sequence, evaluates a prompt of random token ids in one batch (prefill), then generates
// --new-tokens greedily, one llama_decode each (the decode step, sampling over the 256000 logits included, as in
// steer's decode). Prints llama.cpp's system info, then per repeat and best: prefill tok/s, ms per decode step, tok/s.
import {getLlama} from "node-llama-cpp";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) { console.error(`${name}: expected a positive integer, got ${argv[i + 1]}`); process.exit(2); }
  return v;
};
const modelPath = argv[0];
if (!modelPath || modelPath.startsWith("--")) { console.error("usage: node bench.mjs MODEL.gguf [--threads N] [--prompt-len N] [--new-tokens N] [--repeats N]"); process.exit(2); }
const threads = opt("--threads", 2), promptLen = opt("--prompt-len", 16), newTokens = opt("--new-tokens", 32), repeats = opt("--repeats", 3);

const llama = await getLlama({gpu: false, build: "never", maxThreads: threads, logLevel: "error"});
console.log(`node-llama-cpp build: llama.cpp ${llama.llamaCppRelease?.release ?? "?"} (${llama.buildType ?? "?"})`);
console.log(`system info: ${llama.systemInfo}`);
const t0 = performance.now();
const model = await llama.loadModel({modelPath, gpuLayers: 0});
console.log(`load: ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(model.size / 1e9).toFixed(2)} GB of weights`);
const context = await model.createContext({contextSize: 256, batchSize: Math.max(promptLen, 16), threads, sequences: 1});
console.log(`threads: ${context.currentThreads} (asked ${threads}), batch 1, prompt ${promptLen}, new tokens ${newTokens}`);
const seq = context.getSequence();

let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const rows = [];
for (let r = 0; r < repeats; r++) {
  await seq.clearHistory();
  const prompt = [2, ...Array.from({length: promptLen - 1}, () => 300 + Math.floor(rand() * 255000))];
  const p0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(prompt);
  const prefillMs = performance.now() - p0;
  // the first generated token comes from the prompt's logits; each later one needs a decode step of one token
  const it = seq.evaluate([prompt[prompt.length - 1]], {temperature: 0});
  await it.next(); // evaluates the last prompt token again as position promptLen: one decode step, not timed
  const steps = [];
  for (let i = 0; i < newTokens; i++) {
    const s0 = performance.now();
    const {done} = await it.next();
    steps.push(performance.now() - s0);
    if (done) break;
  }
  await it.return();
  const ms = steps.reduce((a, b) => a + b, 0) / steps.length;
  rows.push({prefill: promptLen / (prefillMs / 1000), ms, tps: 1000 / ms});
  console.log(`repeat ${r + 1}: prefill ${rows[r].prefill.toFixed(1)} tok/s, decode ${ms.toFixed(1)} ms/step = ${(1000 / ms).toFixed(2)} tok/s over ${steps.length} steps`);
}
const best = rows.reduce((a, b) => (b.ms < a.ms ? b : a));
console.log(`best: decode ${best.ms.toFixed(1)} ms/step = ${best.tps.toFixed(2)} tok/s, prefill ${Math.max(...rows.map((x) => x.prefill)).toFixed(1)} tok/s`);
console.log(`weight streaming at the best decode step: ${(model.size / 1e9 / (best.ms / 1000)).toFixed(1)} GB/s`);
await context.dispose();
await model.dispose();
await llama.dispose();
