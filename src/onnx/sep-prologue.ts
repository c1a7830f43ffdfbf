/**
 * A prologue for the copies of a model that transformers.js runs: `[SEP]` at each row's last
 * attended position.
 *
 * Why: transformers.js (4.x) truncates a tokenized input that is longer than `model_max_length` by
 * cutting every array at that length, after [CLS]/[SEP] were added, so a long text reaches the model
 * as `[CLS] t1 .. t(L-1)` without its closing [SEP]; prune-once (and Python's tokenizers) truncate
 * the text and keep it: `[CLS] t1 .. t(L-2) [SEP]`. The model was trained on the latter. On input
 * that already ends in [SEP] (everything prune-once and Python feed, and every untruncated input)
 * the prologue changes nothing, so the file still serves any other consumer.
 *
 * Nodes (opset 13+): last = ReduceSum(attention_mask, axis 1) - 1; positions = Range(0, S);
 * input_ids' = Where(positions == last, SEP, input_ids); the graph's nodes then read input_ids'.
 */
import { decodeOnnx } from './inspect/analyse.js';
import { attribute, encodeModel, int64Tensor, type onnx } from './proto.js';

const IDS = 'input_ids';
const MASK = 'attention_mask';
const SCOPE = 'sep_prologue';
/** metadata_props key saying the prologue is there (and read back to avoid adding it twice). */
export const SEP_PROLOGUE_KEY = 'input_prologue';

export function addSepPrologue(bytes: Uint8Array, sepId: number, source = 'model'): Uint8Array {
  const model = decodeOnnx(bytes, source);
  const g = model.graph!;
  const inputs = new Set((g.input ?? []).map((i) => i.name));
  if (!inputs.has(IDS) || !inputs.has(MASK)) throw new Error(`${source}: the graph has no ${IDS} / ${MASK} inputs (inputs: ${[...inputs].join(', ')})`);
  if ((model.metadataProps ?? []).some((e) => e.key === SEP_PROLOGUE_KEY)) return bytes;
  const name = (n: string) => `${SCOPE}/${n}`;
  const fixed = name('input_ids');
  // Every existing reader of input_ids reads the fixed ids instead.
  for (const node of g.node ?? []) node.input = (node.input ?? []).map((i) => (i === IDS ? fixed : i));
  const node = (opType: string, input: string[], output: string, attrs: onnx.IAttributeProto[] = []): onnx.INodeProto => ({
    name: name(`${opType}_${output.split('/').pop()}`),
    opType,
    input,
    output: [output],
    attribute: attrs,
    domain: '',
  });
  const init = [
    int64Tensor(name('axis1'), [1], [1]),
    int64Tensor(name('one'), [], [1]),
    int64Tensor(name('zero'), [], [0]),
    int64Tensor(name('sep'), [], [sepId]),
  ];
  const prologue = [
    node('ReduceSum', [MASK, name('axis1')], name('length'), [attribute('keepdims', 1)]),
    node('Sub', [name('length'), name('one')], name('last')),
    node('Shape', [IDS], name('shape')),
    node('Gather', [name('shape'), name('one')], name('seq'), [attribute('axis', 0)]),
    node('Range', [name('zero'), name('seq'), name('one')], name('positions')),
    node('Equal', [name('positions'), name('last')], name('is_last')),
    node('Where', [name('is_last'), name('sep'), IDS], fixed),
  ];
  g.node = [...prologue, ...(g.node ?? [])];
  g.initializer = [...(g.initializer ?? []), ...init];
  model.metadataProps = [
    ...(model.metadataProps ?? []),
    { key: SEP_PROLOGUE_KEY, value: `[SEP] (id ${sepId}) at each row's last attended position (transformers.js truncation drops it; no-op otherwise)` },
  ];
  return encodeModel(model);
}
