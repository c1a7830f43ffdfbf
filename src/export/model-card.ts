/**
 * The README.md model card of an exported model folder: YAML front matter (library, pipeline tag,
 * model-index with the report's test accuracy and file sizes, as the Hugging Face Hub reads it) and
 * a short body with the same figures and a usage example.
 */
import { stringify } from 'yaml';

/** What the card reads of a run's report.json (src/report/schema.ts; only these fields). */
export interface ReportFigures {
  run?: { name?: string };
  accuracy?: { task?: string; split?: string; examples?: number; teacherOrt?: number | null; int8Ort?: number | null; fp32Ort?: number | null };
  files?: { teacher?: { bytes?: number }; fp32?: { bytes?: number }; int8?: { bytes?: number } };
  totals?: { encoderLinear?: { sparsity?: number } };
}

export interface ModelCardInput {
  name: string;
  pipelineTag: 'text-classification' | 'fill-mask';
  /** The folder's ONNX files and their sizes. */
  files: Array<{ path: string; bytes: number }>;
  labels?: readonly string[];
  maxLength: number;
  report?: ReportFigures;
  /** Encoder sparsity when there is no report (the fill-mask model). */
  encoderSparsity?: number;
  toolVersion: string;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

export function modelCard(c: ModelCardInput): string {
  const r = c.report;
  const acc = r?.accuracy;
  const sparsity = r?.totals?.encoderLinear?.sparsity ?? c.encoderSparsity;
  const metrics: Array<{ type: string; value: number; name: string }> = [];
  if (typeof acc?.int8Ort === 'number') metrics.push({ type: 'accuracy', value: acc.int8Ort, name: 'int8 (onnx/model_quantized.onnx) test accuracy' });
  if (typeof acc?.fp32Ort === 'number') metrics.push({ type: 'accuracy', value: acc.fp32Ort, name: 'sparse fp32 (onnx/model.onnx) test accuracy' });
  if (typeof acc?.teacherOrt === 'number') metrics.push({ type: 'accuracy', value: acc.teacherOrt, name: 'dense teacher test accuracy' });
  for (const f of c.files) metrics.push({ type: 'file_size_bytes', value: f.bytes, name: f.path });
  if (r?.files?.teacher?.bytes) metrics.push({ type: 'file_size_bytes', value: r.files.teacher.bytes, name: 'dense fp32 teacher (not included)' });
  if (sparsity !== undefined)
    metrics.push({ type: 'encoder_sparsity', value: Number(sparsity.toFixed(6)), name: 'zero fraction of the encoder Linear weights' });
  const dataset = acc?.task ? acc.task.split(/[:(]/)[0].trim() : undefined;
  const front = {
    library_name: 'transformers.js',
    pipeline_tag: c.pipelineTag,
    tags: ['bert', 'onnx', 'sparse', ...(c.pipelineTag === 'text-classification' ? ['int8'] : []), 'prune-once'],
    'model-index': [
      {
        name: c.name,
        results: [
          {
            task: { type: c.pipelineTag },
            ...(dataset ? { dataset: { name: dataset, type: dataset, split: acc?.split ?? 'test' } } : {}),
            metrics,
          },
        ],
      },
    ],
  };
  const lines = [
    '---',
    stringify(front).trimEnd(),
    '---',
    '',
    `# ${c.name}`,
    '',
    c.pipelineTag === 'text-classification'
      ? `A sparse BERT text classifier made by prune-once ${c.toolVersion} (magnitude pruning with distillation, int8 quantization-aware training), for transformers.js.`
      : `The sparse pre-trained BERT of a prune-once ${c.toolVersion} run (pruned during pre-training, before any task): fine-tune it, or fill masks with it in transformers.js.`,
    '',
  ];
  if (sparsity !== undefined) lines.push(`- Encoder Linear weights: ${pct(sparsity)} zeros.`);
  if (typeof acc?.int8Ort === 'number')
    lines.push(
      `- Test accuracy (${acc.examples ?? '?'} examples): int8 ${pct(acc.int8Ort)}${typeof acc.fp32Ort === 'number' ? `, sparse fp32 ${pct(acc.fp32Ort)}` : ''}${typeof acc.teacherOrt === 'number' ? `, dense teacher ${pct(acc.teacherOrt)}` : ''}.`,
    );
  for (const f of c.files) lines.push(`- \`${f.path}\`: ${f.bytes.toLocaleString('en-US')} bytes.`);
  if (c.labels?.length) lines.push(`- Labels: ${c.labels.join(', ')}. Inputs are truncated to ${c.maxLength} tokens.`);
  const example =
    c.pipelineTag === 'text-classification'
      ? ["const classify = await pipeline('text-classification', '/path/to/this/folder', { dtype: 'q8' });", "console.log(await classify('Your text here'));"]
      : ["const fill = await pipeline('fill-mask', '/path/to/this/folder', { dtype: 'fp32' });", "console.log(await fill('the president said [MASK] .'));"];
  lines.push(
    '',
    '```js',
    "import { pipeline, env } from '@huggingface/transformers';",
    'env.allowRemoteModels = false;',
    ...example,
    '```',
    '',
    'The ONNX files start with a small prologue that puts [SEP] at the last attended position, because transformers.js truncates long inputs after adding [SEP] and so would drop it; it changes nothing for inputs that end in [SEP].',
    '',
  );
  return lines.join('\n');
}
