import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initWeights } from '../../src/model/bert.js';
import { defaultConfig } from '../../src/model/config.js';
import { encoderLinearKernels } from '../../src/model/weights.js';
import { INT8_WEIGHTS, paramsFromRange, UINT8_ACTIVATIONS, weightParams } from '../../src/quant/quantize.js';
import { valueInfo } from '../../src/onnx/graph.js';
import { decodeOnnx, exportOnnx, formatInspection, inspectOnnx, inspectOnnxFile } from '../../src/onnx/index.js';
import { attribute, DT, encodeModel, floatTensor, int8Tensor, int64Tensor, onnx } from '../../src/onnx/proto.js';
import { tempDir } from '../helpers.js';

/** A model written by "someone else": typed data fields, external data, Constant nodes, a subgraph, QOperator ops. */
function foreignModel(): Uint8Array {
  const sub = (name: string, init: onnx.ITensorProto): onnx.IGraphProto => ({
    name,
    initializer: [init],
    node: [{ opType: 'Identity', input: [init.name!], output: [`${name}_out`] }],
    output: [valueInfo(`${name}_out`, DT.FLOAT, [2])],
  });
  const graph: onnx.IGraphProto = {
    name: 'foreign',
    initializer: [
      { name: 'typed_float', dataType: DT.FLOAT, dims: [2, 2], floatData: [0, 1.5, 0, -2] },
      { name: 'typed_int8', dataType: DT.INT8, dims: [3], int32Data: [0, 3, -1] },
      { name: 'typed_int64', dataType: DT.INT64, dims: [2], int64Data: [5, 0] },
      {
        name: 'external_w',
        dataType: DT.FLOAT,
        dims: [32, 32],
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: 'w.bin' },
          { key: 'offset', value: '0' },
          { key: 'length', value: '4096' },
        ],
      },
      { name: 'short_raw', dataType: DT.FLOAT, dims: [4], rawData: new Uint8Array(8) },
      int8Tensor('qweight', [4, 2], Int8Array.of(1, 0, 0, -3, 0, 0, 7, 0)),
      int8Tensor('qweight_zp', [], Int8Array.of(0)),
      int8Tensor('gemm_w', [2, 2], Int8Array.of(1, 2, 3, 4)),
      floatTensor('gemm_scale', [], Float32Array.of(0.5)),
      int8Tensor('gemm_zp', [], Int8Array.of(0)),
    ],
    sparseInitializer: [
      {
        values: { name: 'sparse_f', dataType: DT.FLOAT, dims: [2], floatData: [1, 2] },
        indices: int64Tensor('sparse_f_idx', [2], [1, 5]),
        dims: [2, 3],
      },
    ],
    node: [
      {
        opType: 'Constant',
        output: ['const_out'],
        attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: floatTensor('', [3], Float32Array.of(0, 1, 2)) }],
      },
      { opType: 'DynamicQuantizeLinear', input: ['x'], output: ['xq', 'xs', 'xzp'] },
      { opType: 'MatMulInteger', input: ['xq', 'qweight', 'xzp', 'qweight_zp'], output: ['acc'] },
      { opType: 'DequantizeLinear', input: ['gemm_w', 'gemm_scale', 'gemm_zp'], output: ['gemm_wf'], attribute: [attribute('axis', 1)] },
      { opType: 'Gemm', input: ['x2', 'gemm_wf'], output: ['y2'] },
      {
        opType: 'If',
        input: ['cond'],
        output: ['branch'],
        name: 'choose',
        attribute: [
          { name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: sub('then', floatTensor('then_w', [2], Float32Array.of(1, 0))) },
          { name: 'else_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: sub('else', floatTensor('else_w', [2], Float32Array.of(0, 0))) },
        ],
      },
    ],
    input: [valueInfo('x', DT.FLOAT, ['n', 4]), valueInfo('x2', DT.FLOAT, [1, 2]), valueInfo('cond', DT.BOOL, [])],
    output: [valueInfo('acc', DT.INT32, ['n', 2]), valueInfo('y2', DT.FLOAT, [1, 2]), valueInfo('branch', DT.FLOAT, [2])],
  };
  return encodeModel({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], producerName: 'someone-else', graph });
}

describe('inspectOnnx on a file it did not write', () => {
  const ins = inspectOnnx(foreignModel(), { source: 'foreign.onnx' });
  const get = (name: string) => ins.initializers.find((t) => t.name === name)!;

  it('reads typed fields, external data, sparse and Constant tensors and subgraphs', () => {
    expect(ins).toMatchObject({ irVersion: 7, opset: 13, producer: { name: 'someone-else' }, graphName: 'foreign' });
    expect(get('typed_float')).toMatchObject({ location: 'float_data', dtype: 'float32', shape: [2, 2], nonZeros: 2, sparsity: 0.5, bytes: 16 });
    expect(get('typed_int8')).toMatchObject({ location: 'int32_data', dtype: 'int8', nonZeros: 2, bytes: 3 });
    expect(get('typed_int64')).toMatchObject({ location: 'int64_data', nonZeros: 1, bytes: 16 });
    expect(get('external_w')).toMatchObject({
      location: 'external',
      nonZeros: null,
      bytes: 4096,
      external: { location: 'w.bin', offset: '0', length: '4096' },
    });
    expect(get('sparse_f')).toMatchObject({
      kind: 'sparse',
      shape: [2, 3],
      numel: 6,
      nonZeros: 2,
      bytes: 8 + 16,
      sparse: { layout: 'linear', indexDtype: 'int64', valueBytes: 8, indexBytes: 16 },
    });
    expect(get('const_out')).toMatchObject({ kind: 'constant', nonZeros: 2, bytes: 12 });
    expect(get('then_w')).toMatchObject({ graph: 'main/choose.then_branch', nonZeros: 1 });
    expect(get('else_w')).toMatchObject({ graph: 'main/choose.else_branch', nonZeros: 0 });
    expect(ins.warnings).toEqual(["initializer 'short_raw': raw_data has 8 bytes, shape and dtype need 16"]);
    expect(ins.totals).toMatchObject({ tensors: 14, dense: 12, external: 1, sparse: 1 });
    // External bytes are not in the file, so they are not in the data total.
    expect(ins.totals.bytes).toBe(ins.initializers.filter((t) => t.location !== 'external').reduce((a, t) => a + t.bytes, 0));
    expect(ins.opCounts).toMatchObject({ Identity: 2, If: 1, MatMulInteger: 1 });
  });

  it('finds QOperator ops and DequantizeLinear on weights', () => {
    const Q = ins.quantization;
    expect(Q.format).toBe('mixed');
    expect(Q.integerOps).toEqual({ DynamicQuantizeLinear: 1, MatMulInteger: 1 });
    expect(Q.activationsQuantized).toBe(true);
    // A scalar scale makes DequantizeLinear per-tensor whatever its axis attribute says.
    expect(Q.weights).toEqual([{ tensor: 'gemm_w', dtype: 'int8', perChannel: false, axis: null, channels: 1, consumers: ['Gemm'] }]);
  });

  it('formats aligned tables', () => {
    const text = formatInspection(ins);
    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.startsWith('tensor '));
    const tableLines = lines.slice(header, header + 2 + ins.initializers.length);
    // The last column (bytes) is right-aligned, so every table line has the same length.
    expect(new Set(tableLines.map((l) => l.length)).size).toBe(1);
    expect(text).toMatch(/external_w\s+float32\s+\[32x32\]\s+external\s+-\s+-\s+4096/);
    expect(text).toContain("warning: initializer 'short_raw'");
  });
});

describe('not an ONNX model', () => {
  const cfg = defaultConfig({ vocabSize: 32, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 8, numLabels: 2 });
  const good = exportOnnx({ snapshot: { config: cfg, weights: initWeights(cfg, 1, { mlmHead: false }) }, format: 'fp32' }).bytes;

  it('rejects garbage, text, empty and truncated bytes with a clear error', () => {
    let s = 7;
    const garbage = Uint8Array.from({ length: 4096 }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
    expect(() => inspectOnnx(garbage, { source: 'garbage.onnx' })).toThrow(/^garbage\.onnx: not an ONNX model \(/);
    expect(() => inspectOnnx(new TextEncoder().encode('{"hello": "world"}\n'), { source: 'x.json' })).toThrow(/^x\.json: not an ONNX model/);
    expect(() => inspectOnnx(new Uint8Array(0), { source: 'empty.onnx' })).toThrow('empty.onnx: not an ONNX model (empty file)');
    for (const cut of [10, Math.floor(good.length / 2), good.length - 1]) {
      expect(() => decodeOnnx(good.subarray(0, cut), 'cut.onnx')).toThrow(/^cut\.onnx: not an ONNX model \(/);
    }
    expect(inspectOnnx(good).totals.tensors).toBeGreaterThan(0);
  });

  it('names the path when reading a file', () => {
    const dir = tempDir();
    const path = join(dir, 'broken.onnx');
    writeFileSync(path, good.subarray(0, 100));
    expect(() => inspectOnnxFile(path)).toThrow(`${path}: not an ONNX model (`);
    expect(() => inspectOnnxFile(join(dir, 'missing.onnx'))).toThrow(/missing\.onnx: cannot read/);
  });
});

// Optional independent check with Debian's python3-onnx (1.12); skipped where it is not installed.
const PYTHON = '/usr/bin/python3';
const hasOnnxChecker = spawnSync(PYTHON, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasOnnxChecker)('onnx.checker (python3-onnx)', () => {
  const check = (path: string, full: boolean): string => {
    const script = `import onnx,sys\ntry:\n  onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=${full ? 'True' : 'False'}); print('OK')\nexcept Exception as e: print('FAIL', e)`;
    return execFileSync(PYTHON, ['-c', script, path], { encoding: 'utf8' }).trim();
  };

  it('accepts the fp32 and dense int8 files, and int64-indexed sparse files structurally', () => {
    const cfg = defaultConfig({ vocabSize: 32, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 8, numLabels: 2 });
    const weights = initWeights(cfg, 2, { mlmHead: false });
    const kernels = encoderLinearKernels(0);
    for (const k of kernels)
      weights.get(k)!.data.forEach((_, i, a) => {
        if (i % 10) a[i] = 0;
      });
    const quantization = {
      weightSpec: INT8_WEIGHTS,
      activationSpec: UINT8_ACTIVATIONS,
      embeddings: {},
      bias: 'float32' as const,
      weights: Object.fromEntries(kernels.map((k) => [k, weightParams(weights.get(k)!.data, weights.get(k)!.shape, INT8_WEIGHTS)])),
      inputs: Object.fromEntries(kernels.map((k) => [k, paramsFromRange([-2], [2], UINT8_ACTIVATIONS, -1)])),
    };
    const snapshot = { config: cfg, weights };
    const dir = tempDir();
    const write = (name: string, bytes: Uint8Array) => {
      writeFileSync(join(dir, name), bytes);
      return join(dir, name);
    };
    expect(check(write('fp32.onnx', exportOnnx({ snapshot, format: 'fp32' }).bytes), true)).toBe('OK');
    expect(check(write('dense.onnx', exportOnnx({ snapshot, format: 'int8', quantization, storage: 'dense' }).bytes), true)).toBe('OK');
    const int64 = write('int64.onnx', exportOnnx({ snapshot, format: 'int8', quantization, storage: 'sparse-initializer-int64' }).bytes);
    expect(check(int64, false)).toBe('OK');
    // Known limits of the reference checker, which ONNX Runtime does not share (it loads both):
    // it requires int64 sparse indices, and its shape inference types a sparse initializer as
    // sparse_tensor, which DequantizeLinear does not accept.
    expect(check(int64, true)).toMatch(/FAIL.*sparse_tensor\(int8\)/);
    expect(check(write('auto.onnx', exportOnnx({ snapshot, format: 'int8', quantization, storage: 'sparse-initializer' }).bytes), false)).toMatch(
      /FAIL.*must have INT64 type/,
    );
  });
});
