// transformers.js side of the issue-15 quantization comparison: loads one of this library's Optimum-layout GPT-2
// folders (fp32, or quantized with com.microsoft MatMulNBits + GatherBlockQuantized) with the matching transformers.js
// dtype on onnxruntime-node (CPU), and prints ONE JSON line:
//   {dtype, rss_mb_after_load, ttft_ms, tok_s_b1, tok_s_b4, greedy_ids_b1, ...context fields}
//
// Usage (from bench/peers-js, after `npm ci --ignore-scripts --no-audit --no-fund`):
//   node quantized.mjs --model <folder> --dtype fp32|q8|q4 [--threads 2] [--new-tokens 64] [--reps 3] [--warmup 1]
// e.g.
//   node quantized.mjs --model ~/.cache/aigc-mlnet/bench/quantization/gpt2-small-q8-b32 --dtype q8
//
// File naming: transformers.js picks the file by dtype: fp32 -> onnx/model.onnx, q8 -> onnx/model_quantized.onnx,
// q4 -> onnx/model_q4.onnx. This library's quantizer writes onnx/model.onnx whatever the precision, so when the
// dtype's file is missing but onnx/model.onnx exists, the script builds a staging folder of symbolic links under
// <tmpdir>/aigc-quantized-js/<folder name>-<dtype>/ (the source folder is never written to) and loads from there.
// transformers.js itself does not look inside the file, so the script checks config.json's "quantization" block
// against the dtype (q8 needs bits 8, q4 needs bits 4, fp32 needs no block) to avoid timing the wrong precision.
//
// What it runs: a fixed prompt of 16 token ids (PROMPT_IDS below: drawn once from a seeded generator in
// [0, 50256), written here so every run uses the same ids; it is not the C# harness's Random(5) prompt). Batch 4
// repeats the same row 4 times (no padding). Greedy decoding (do_sample false), no EOS stop (eos_token_id null, so
// neither a stopping criterion nor a min-length logits processor is applied: the ids are the plain argmax path).
// Timing: after --warmup rounds, T1 = generate(max_new_tokens = 1) and TN = generate(max_new_tokens = N) are timed
// --reps times each; ttft_ms = median T1 at batch 1; tok_s_bB = B * (N - 1) / (median TN - median T1) in seconds.
// rss_mb_after_load = process RSS (includes the native onnxruntime allocations) right after from_pretrained.
// Threads: intraOpNumThreads = --threads (default 2, the size of the shared benchmark machine), interOpNumThreads 1,
// graphOptimizationLevel 'all', sequential execution: the same session options as bench.mjs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { env, AutoModelForCausalLM, Tensor } from '@huggingface/transformers';

const PROMPT_IDS = [34665, 38834, 11044, 31318, 4278, 29759, 36189, 23022, 45512, 11530, 39192, 37220, 33197, 694, 23389, 15099];
const SUFFIX = { fp32: '', q8: '_quantized', q4: '_q4' };
const BITS = { fp32: null, q8: 8, q4: 4 };

function parseArgs(argv) {
  const args = { threads: 2, newTokens: 64, reps: 3, warmup: 1 };
  for (let i = 2; i < argv.length; i++) {
    const key = argv[i], value = argv[++i];
    if (value === undefined) throw new Error(`Option ${key} needs a value.`);
    switch (key) {
      case '--model': args.model = value; break;
      case '--dtype': args.dtype = value; break;
      case '--threads': args.threads = Number.parseInt(value, 10); break;
      case '--new-tokens': args.newTokens = Number.parseInt(value, 10); break;
      case '--reps': args.reps = Number.parseInt(value, 10); break;
      case '--warmup': args.warmup = Number.parseInt(value, 10); break;
      default: throw new Error(`Unknown option ${key}.`);
    }
  }
  if (!args.model) throw new Error('--model <folder> is required (config.json, tokenizer files, onnx/model.onnx).');
  if (!(args.dtype in SUFFIX)) throw new Error(`--dtype must be one of ${Object.keys(SUFFIX).join(', ')}, got ${args.dtype}.`);
  for (const [name, v] of [['--threads', args.threads], ['--reps', args.reps]])
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}.`);
  if (!Number.isInteger(args.warmup) || args.warmup < 0) throw new Error(`--warmup must be 0 or more, got ${args.warmup}.`);
  if (!Number.isInteger(args.newTokens) || args.newTokens < 2) throw new Error('--new-tokens must be an integer of at least 2.');
  return args;
}

/** Returns the folder to hand to transformers.js: the source itself, or a staging folder of symbolic links. */
function resolveFolder(source, dtype) {
  const want = path.join(source, 'onnx', `model${SUFFIX[dtype]}.onnx`);
  if (fs.existsSync(want)) return { folder: source, file: want, staged: false };
  const plain = path.join(source, 'onnx', 'model.onnx');
  if (!fs.existsSync(plain)) throw new Error(`Neither ${want} nor ${plain} exists.`);
  const stage = path.join(os.tmpdir(), 'aigc-quantized-js', `${path.basename(source)}-${dtype}`);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(stage, 'onnx'), { recursive: true });
  for (const name of fs.readdirSync(source))
    if (fs.statSync(path.join(source, name)).isFile()) fs.symlinkSync(path.join(source, name), path.join(stage, name));
  const staged = path.join(stage, 'onnx', `model${SUFFIX[dtype]}.onnx`);
  fs.symlinkSync(plain, staged);
  if (fs.existsSync(`${plain}.data`)) fs.symlinkSync(`${plain}.data`, `${staged}.data`);
  return { folder: stage, file: plain, staged: true };
}

function checkPrecision(source, dtype) {
  const config = JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8'));
  const bits = config.quantization?.bits ?? null;
  if (bits !== BITS[dtype])
    throw new Error(`config.json says quantization bits = ${bits}, but --dtype ${dtype} expects ${BITS[dtype]}.`);
}

const median = xs => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

function inputs(batch) {
  const s = PROMPT_IDS.length, ids = new BigInt64Array(batch * s);
  for (let b = 0; b < batch; b++) PROMPT_IDS.forEach((id, j) => { ids[b * s + j] = BigInt(id); });
  return { input_ids: new Tensor('int64', ids, [batch, s]), attention_mask: new Tensor('int64', new BigInt64Array(batch * s).fill(1n), [batch, s]) };
}

async function generate(model, batch, maxNew) {
  const start = performance.now();
  const out = await model.generate({ ...inputs(batch), max_new_tokens: maxNew, do_sample: false, eos_token_id: null });
  const ms = performance.now() - start;
  const produced = out.dims[1] - PROMPT_IDS.length;
  if (produced !== maxNew) throw new Error(`generate produced ${produced} new tokens, expected ${maxNew}.`);
  return { ms, out };
}

async function main() {
  const args = parseArgs(process.argv);
  const source = path.resolve(args.model.replace(/^~(?=$|\/)/, os.homedir()));
  checkPrecision(source, args.dtype);
  const { folder, file, staged } = resolveFolder(source, args.dtype);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(folder) + path.sep;
  const sessionOptions = { intraOpNumThreads: args.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };

  const loadStart = performance.now();
  const model = await AutoModelForCausalLM.from_pretrained(path.basename(folder), { dtype: args.dtype, device: 'cpu', session_options: sessionOptions });
  const loadMs = performance.now() - loadStart;
  const rssMb = process.memoryUsage().rss / (1024 * 1024);

  const greedy = (await generate(model, 1, 16)).out.tolist()[0].map(Number).slice(PROMPT_IDS.length, PROMPT_IDS.length + 16);
  const rates = {}, ttft = {};
  for (const batch of [1, 4]) {
    for (let i = 0; i < args.warmup; i++) { await generate(model, batch, 1); await generate(model, batch, args.newTokens); }
    const t1 = [], tn = [];
    for (let i = 0; i < args.reps; i++) {
      t1.push((await generate(model, batch, 1)).ms);
      tn.push((await generate(model, batch, args.newTokens)).ms);
    }
    ttft[batch] = median(t1);
    rates[batch] = batch * (args.newTokens - 1) / ((median(tn) - median(t1)) / 1000);
  }
  await model.dispose?.();

  const version = name => JSON.parse(fs.readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
  const round = (x, d) => Number(x.toFixed(d));
  console.log(JSON.stringify({
    dtype: args.dtype, rss_mb_after_load: round(rssMb, 1), ttft_ms: round(ttft[1], 1),
    tok_s_b1: round(rates[1], 2), tok_s_b4: round(rates[4], 2), greedy_ids_b1: greedy,
    ttft_ms_b4: round(ttft[4], 1), load_ms: round(loadMs, 0), model: source, file, staged,
    threads: args.threads, new_tokens: args.newTokens, reps: args.reps, warmup: args.warmup, prompt_tokens: PROMPT_IDS.length,
    transformers: version('@huggingface/transformers'), onnxruntime_node: version('onnxruntime-node'), node: process.version,
  }));
}

main().catch(e => { console.error(e && e.stack || e); process.exit(1); });
