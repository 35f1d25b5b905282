// steer's GGUF control vectors read by an independent reader: @huggingface/gguf (the Hugging Face Hub's parser).
// Runs `steer extract` twice on the tiny model (safetensors, then --vector-format gguf) and checks that the GGUF
// holds, as llama.cpp and repeng read it, every layer >= 1 as an F32 direction.N equal byte for byte to the
// safetensors vector, with layer_count a u32 and steer's provenance as extra keys.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gguf, GGUFValueType } from "@huggingface/gguf";

const { STEER_JAR, STEER_MODEL, JAVA } = process.env;
const METHODS = ["mean_diff"];   // one method keeps the two extractions short; the writer is the same for all

function extract(out, ...extra) {
  const r = spawnSync(JAVA, ["-jar", STEER_JAR, "extract", "--model", STEER_MODEL, "--trait", "optimism", "--layers", "all",
    "--method", METHODS.join(","), "--out", out, "--format", "json", ...extra], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

/** The one tensor of a steer safetensors file: its raw bytes and its __metadata__. */
function safetensors(file) {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString("utf8"));
  const [begin, end] = header.vector.data_offsets;
  assert.equal(header.vector.dtype, "F32");
  return { bytes: b.subarray(8 + n + begin, 8 + n + end), metadata: header.__metadata__ };
}

test("steer's GGUF control vectors as @huggingface/gguf reads them", async () => {
  const dir = mkdtempSync(join(tmpdir(), "steer-gguf-"));
  try {
    const st = join(dir, "st"), gg = join(dir, "gg");
    extract(st);
    const r = extract(gg, "--vector-format", "gguf");
    assert.match(r.stderr, /layer 0 has no slot/);
    for (const method of METHODS) {
      const file = join(gg, `${method}.gguf`);
      const parsed = await gguf(file, { allowLocalFile: true, typedMetadata: true });
      const { metadata, typedMetadata, tensorInfos, tensorDataOffset } = parsed;
      assert.equal(parsed.littleEndian, true);
      assert.equal(metadata.version, 3);
      assert.equal(metadata["general.architecture"], "controlvector");
      assert.equal(metadata["controlvector.model_hint"], "gemma2");
      assert.deepEqual(typedMetadata["controlvector.layer_count"], { value: 3, type: GGUFValueType.UINT32 });
      assert.equal(metadata["controlvector.method"], method);
      assert.equal(metadata["controlvector.trait"], "optimism");
      assert.deepEqual(tensorInfos.map((t) => t.name), ["direction.1", "direction.2", "direction.3"]);
      const data = readFileSync(file);
      assert.equal(Number(tensorDataOffset) % 32, 0, "data section aligned to general.alignment's default, 32");
      for (const t of tensorInfos) {
        const layer = Number(t.name.split(".")[1]);
        assert.equal(t.dtype, 0, `${t.name} is F32 (ggml type 0)`);
        assert.equal(t.n_dims, 1);
        assert.deepEqual(t.shape, [64n]);
        assert.equal(Number(t.offset) % 32, 0);
        const ref = safetensors(join(st, `${method}_layer${layer}.safetensors`));
        const start = Number(tensorDataOffset + t.offset);
        const got = data.subarray(start, start + 64 * 4);
        assert.ok(got.equals(ref.bytes), `${t.name} equals ${method}_layer${layer}.safetensors byte for byte`);
        const norm = typedMetadata[`controlvector.vector_norm.${layer}`];
        assert.equal(norm.type, GGUFValueType.FLOAT64);
        assert.equal(norm.value, Number(ref.metadata.vector_norm));
        assert.equal(typedMetadata[`controlvector.ratio_at_coef_1.${layer}`].value, Number(ref.metadata.ratio_at_coef_1));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
