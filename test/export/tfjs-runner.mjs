// Runs @huggingface/transformers in its own process: its onnxruntime-node (1.30) cannot share a
// process with prune-once's (1.22), both being libonnxruntime.so.1. Reads one JSON job on stdin,
// writes the JSON answer on stdout.
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { AutoTokenizer, env, pipeline } from '@huggingface/transformers';

env.allowRemoteModels = false;
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
let out;
if (job.kind === 'classify') {
  const clf = await pipeline('text-classification', job.folder, { dtype: job.dtype });
  const rows = await clf(job.texts, { top_k: null });
  out = rows.map((r) => ({ label: r[0].label, scores: Object.fromEntries(r.map((x) => [x.label, x.score])) }));
  await clf.dispose();
} else if (job.kind === 'tokenize') {
  const tok = await AutoTokenizer.from_pretrained(job.folder);
  out = job.texts.map((t) => tok.encode(t));
} else if (job.kind === 'fill-mask') {
  const fill = await pipeline('fill-mask', job.folder, { dtype: 'fp32' });
  out = [];
  for (const t of job.texts) out.push(await fill(t));
  await fill.dispose();
} else throw new Error(`unknown job ${job.kind}`);
process.stdout.write(JSON.stringify(out));
