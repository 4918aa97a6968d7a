// transformers.js side of the issue-9 peer benchmark.
// Runs a local model folder offline on onnxruntime-node (CPU) and writes one JSON file:
//   - greedy continuations of the given prompts (for token-by-token comparison with the C# engine),
//   - time-to-first-token and decode tokens/s at the requested batch sizes.
// Timing method (same as the C# side): T1 = generate(max_new_tokens = 1), TN = generate(max_new_tokens = N,
// min_new_tokens = N); TTFT = median(T1), decode tokens/s = batch * (N - 1) / (median(TN) - median(T1)).
// A streamer also timestamps every step inside the TN runs, as a cross-check of the differencing.
//
// Usage: node bench.mjs --model <folder> --out <file.json> [--threads 2] [--new-tokens 64] [--reps 5]
//        [--batches 1,4] [--prompt "text"] [--check-prompts prompts.json] [--check-tokens 24] [--serve]
// With --serve the script writes the check results to --out, prints "ready", then answers one JSON request per
// stdin line ({"batch":4,"maxNew":64}) with {"ms":..,"produced":..}, so the C# harness can interleave it with its
// own runtimes repetition by repetition; an empty line ends it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { env, AutoTokenizer, AutoModelForCausalLM, Tensor } from '@huggingface/transformers';

function parseArgs(argv) {
  const args = {
    serve: false, threads: os.availableParallelism(), newTokens: 64, reps: 5, batches: [1, 4], warmup: 1,
    prompt: 'The quick brown fox jumps over the lazy dog because', checkPrompts: null, checkTokens: 24,
  };
  for (let i = 2; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--serve') { args.serve = true; continue; }
    const value = argv[++i];
    if (value === undefined) throw new Error(`Option ${key} needs a value.`);
    switch (key) {
      case '--model': args.model = value; break;
      case '--out': args.out = value; break;
      case '--threads': args.threads = Number.parseInt(value, 10); break;
      case '--new-tokens': args.newTokens = Number.parseInt(value, 10); break;
      case '--reps': args.reps = Number.parseInt(value, 10); break;
      case '--warmup': args.warmup = Number.parseInt(value, 10); break;
      case '--batches': args.batches = value.split(',').filter(s => s.length > 0).map(s => Number.parseInt(s, 10)); break;
      case '--prompt': args.prompt = value; break;
      case '--check-prompts': args.checkPrompts = value; break;
      case '--check-tokens': args.checkTokens = Number.parseInt(value, 10); break;
      default: throw new Error(`Unknown option ${key}.`);
    }
  }
  if (!args.model) throw new Error('--model <folder> is required (a folder holding config.json and onnx/model.onnx).');
  if (!args.out) throw new Error('--out <file.json> is required.');
  if (!fs.existsSync(path.join(args.model, 'config.json'))) throw new Error(`--model '${args.model}' holds no config.json.`);
  for (const [name, v] of [['--threads', args.threads], ['--new-tokens', args.newTokens], ['--reps', args.reps]])
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}.`);
  if (args.newTokens < 2) throw new Error('--new-tokens must be at least 2 (decode speed needs steps after the first token).');
  return args;
}

const median = xs => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** Records the time of every streamer.put after the first one (the first carries the prompt). */
class StepClock {
  constructor() { this.times = []; this.calls = 0; }
  put() { if (this.calls++ > 0) this.times.push(performance.now()); }
  end() { }
}

function idsTensor(rows) {
  const b = rows.length, s = rows[0].length;
  const data = new BigInt64Array(b * s);
  rows.forEach((r, i) => r.forEach((id, j) => { data[i * s + j] = BigInt(id); }));
  return new Tensor('int64', data, [b, s]);
}

function onesTensor(b, s) { return new Tensor('int64', new BigInt64Array(b * s).fill(1n), [b, s]); }

async function timeGenerate(model, rows, maxNew, minNew) {
  const clock = new StepClock();
  const start = performance.now();
  const out = await model.generate({
    input_ids: idsTensor(rows), attention_mask: onesTensor(rows.length, rows[0].length),
    max_new_tokens: maxNew, min_new_tokens: minNew, do_sample: false, streamer: clock,
  });
  const end = performance.now();
  const produced = out.dims[1] - rows[0].length;
  return { ms: end - start, produced, firstMs: clock.times.length ? clock.times[0] - start : NaN,
    lastMs: clock.times.length ? clock.times[clock.times.length - 1] - start : NaN };
}

async function serve(model, promptIds) {
  const readline = await import('node:readline');
  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  process.stdout.write('ready\n');
  for await (const line of lines) {
    if (line.trim() === '') break;
    let reply;
    try {
      const { batch, maxNew } = JSON.parse(line);
      const r = await timeGenerate(model, Array.from({ length: batch }, () => promptIds), maxNew, maxNew);
      reply = { ms: r.ms, produced: r.produced };
    } catch (e) {
      reply = { error: String(e && e.message || e) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  }
  lines.close();
  await model.dispose?.();
}

async function main() {
  const args = parseArgs(process.argv);
  const folder = path.resolve(args.model);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(folder) + path.sep;
  const modelId = path.basename(folder);
  const sessionOptions = { intraOpNumThreads: args.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };

  const loadStart = performance.now();
  const tokenizer = await AutoTokenizer.from_pretrained(modelId);
  const model = await AutoModelForCausalLM.from_pretrained(modelId, { dtype: 'fp32', device: 'cpu', session_options: sessionOptions });
  const loadMs = performance.now() - loadStart;

  const result = {
    runtime: 'transformers.js',
    transformersVersion: JSON.parse(fs.readFileSync(new URL('./node_modules/@huggingface/transformers/package.json', import.meta.url))).version,
    onnxruntimeNodeVersion: JSON.parse(fs.readFileSync(new URL('./node_modules/onnxruntime-node/package.json', import.meta.url))).version,
    node: process.version, model: folder, threads: args.threads, sessionOptions, loadMs,
    method: 'TTFT = median T(max_new_tokens=1); decode tok/s = batch*(N-1)/(median T(N) - median T(1))',
    check: [], timings: [],
  };

  if (args.checkPrompts) {
    const prompts = JSON.parse(fs.readFileSync(args.checkPrompts, 'utf8'));
    for (const text of prompts) {
      const promptIds = Array.from(tokenizer.encode(text));
      const out = await model.generate({
        input_ids: idsTensor([promptIds]), attention_mask: onesTensor(1, promptIds.length),
        max_new_tokens: args.checkTokens, do_sample: false,
      });
      const all = out.tolist()[0].map(Number);
      result.check.push({ prompt: text, promptIds, newIds: all.slice(promptIds.length) });
    }
  }

  const promptIds = Array.from(tokenizer.encode(args.prompt));
  result.promptTokens = promptIds.length;
  if (args.serve) {
    fs.writeFileSync(args.out, JSON.stringify(result, null, 2));
    await serve(model, promptIds);
    return;
  }
  for (const batch of args.batches) {
    const rows = Array.from({ length: batch }, () => promptIds);
    try {
      for (let i = 0; i < args.warmup; i++) { await timeGenerate(model, rows, 1, 1); await timeGenerate(model, rows, args.newTokens, args.newTokens); }
      const t1 = [], tn = [], stepDecode = [];
      for (let i = 0; i < args.reps; i++) {
        t1.push((await timeGenerate(model, rows, 1, 1)).ms);
        const r = await timeGenerate(model, rows, args.newTokens, args.newTokens);
        if (r.produced !== args.newTokens) throw new Error(`generate produced ${r.produced} tokens, expected ${args.newTokens}.`);
        tn.push(r.ms);
        stepDecode.push(batch * (args.newTokens - 1) / ((r.lastMs - r.firstMs) / 1000));
      }
      const ttft = median(t1), total = median(tn);
      result.timings.push({
        batch, newTokens: args.newTokens, reps: args.reps, ttftMs: ttft, totalMs: total,
        decodeTokensPerSecond: batch * (args.newTokens - 1) / ((total - ttft) / 1000),
        streamerDecodeTokensPerSecond: median(stepDecode), t1Ms: t1, tnMs: tn,
      });
    } catch (e) {
      result.timings.push({ batch, error: String(e && e.message || e) });
    }
  }
  await model.dispose?.();
  fs.writeFileSync(args.out, JSON.stringify(result, null, 2));
  console.error(`transformers.js: wrote ${args.out}`);
}

main().catch(e => { console.error(e && e.stack || e); process.exit(1); });
