// The official openai client against a real `steer serve` process (java -jar target/steer.jar serve ...).
// Run by Maven (integration-test phase, NodeClientRunner) with STEER_JAR, STEER_MODEL and JAVA set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const jar = process.env.STEER_JAR;
const modelDir = process.env.STEER_MODEL;
const java = process.env.JAVA || 'java';
const MODEL = 'tiny-gemma2';
let server, exited, client;

before(async () => {
  assert.ok(jar && modelDir, 'STEER_JAR and STEER_MODEL must be set');
  const dir = mkdtempSync(join(tmpdir(), 'steer-serve-node-'));
  const v = Array.from({ length: 64 }, (_, i) => Math.sin(i + 1));
  writeFileSync(join(dir, 'v.json'), JSON.stringify(v));
  server = spawn(java, ['-jar', jar, 'serve', '--model', modelDir, '--port', '0', '--max-batch', '4',
    '--max-context', '128', '--vector', `v=${join(dir, 'v.json')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));
  let err = '';
  const baseURL = await new Promise((resolve, reject) => {
    server.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`steer serve exited ${code}: ${err}`)));
    setTimeout(() => reject(new Error(`no listening line after 120 s: ${err}`)), 120_000).unref();
  });
  client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(() => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
});

const base = { model: MODEL, prompt: 'The river runs past the old mill', max_tokens: 8, temperature: 0 };

test('models list', async () => {
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), [MODEL]);
  assert.equal(page.data[0].object, 'model');
});

test('completion', async () => {
  const r = await client.completions.create(base);
  assert.equal(r.object, 'text_completion');
  assert.equal(r.model, MODEL);
  assert.equal(typeof r.choices[0].text, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(r.steer.telemetry.length, 1, 'an unsteered request reports the middle layer');
  assert.equal(r.steer.telemetry[0].hook, 'blocks.2.hook_resid_post');
});

test('chat completion', async () => {
  const r = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi there' }], max_tokens: 6, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(r.steer.telemetry.length >= 1);
});

test('streaming: the deltas concatenate to the non-streamed text', async () => {
  const whole = await client.completions.create(base);
  const stream = await client.completions.create({ ...base, stream: true });
  let text = '';
  let last;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? '';
    last = chunk;
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(last.choices[0].finish_reason, whole.choices[0].finish_reason);
  assert.ok(last.steer.telemetry.length >= 1, 'the last chunk carries the telemetry');

  const messages = [{ role: 'user', content: 'Hi there' }];
  const chat = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 6, temperature: 0 });
  const chatStream = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 6, temperature: 0, stream: true });
  let content = '';
  for await (const chunk of chatStream) content += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(content, chat.choices[0].message.content);
});

test('steering by coef through the plain steer field (extra_body in Python)', async () => {
  const plain = await client.completions.create(base);
  const r = await client.completions.create({ ...base, steer: [{ layer: 1, vector: 'v', coef: 8, positions: 'all' }] });
  const entry = r.steer.telemetry.find((t) => t.layer === 1);
  assert.equal(entry.coef, 8);
  assert.equal(entry.positions, 'all');
  assert.ok(entry.vector_norm > 0);
  assert.notEqual(r.choices[0].text, plain.choices[0].text, 'coef 8 changes the answer');
});

test('steering by ratio: coef = ratio x ||h|| / ||v|| from the request itself', async () => {
  const r = await client.completions.create({ ...base, steer: [{ layer: 2, vector: 'v', ratio: 0.5 }] });
  const entry = r.steer.telemetry.find((t) => t.layer === 2 && t.positions);
  assert.ok(Math.abs(entry.ratio - 0.5) < 1e-6, `ratio ${entry.ratio}`); // float32 norms: the batch prefill vs the resolving one
  const expected = 0.5 * entry.activation_norm / entry.vector_norm;
  assert.ok(Math.abs(entry.coef - expected) < 1e-6 * expected, `coef ${entry.coef} vs ${expected}`);
});

test('errors: 404 model_not_found and a 400 naming the field', async () => {
  await assert.rejects(client.completions.create({ ...base, model: 'gpt-4o' }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, String(e));
    assert.equal(e.status, 404);
    assert.equal(e.code, 'model_not_found');
    return true;
  });
  await assert.rejects(client.completions.create({ ...base, steer: [{ layer: 1, vector: 'nope', coef: 1 }] }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, String(e));
    assert.equal(e.status, 400);
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.param, 'steer[0].vector');
    return true;
  });
  await client.completions.create(base); // still serving
});

test('SIGTERM: the running request completes, then the server exits 0', async () => {
  const stream = await client.completions.create({ ...base, max_tokens: 12, ignore_eos: true, stream: true });
  let chunks = 0;
  let finish = null;
  for await (const chunk of stream) {
    if (chunks++ === 0) server.kill('SIGTERM');
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(finish, 'length');
  const { code } = await exited;
  assert.equal(code, 0);
});
