/**
 * `prune-once bench <kind>`: speed measurements, as commands (tests never assert speed).
 *   bench train-step        one prune-and-distill pre-training step, the work of shared/peers/torch_ref.py
 *   bench inference <model> ONNX Runtime latency and throughput of an exported model (--preset: fp32 vs int8 at a shape)
 *   bench sparse-linear     dense vs sparse products of the encoder's Linear shapes at given sparsities
 *   bench compression       file sizes of a model of a given shape (random weights), pruned, quantized and exported
 *   bench sparse-inference  the sparse int8 wasm kernel vs ONNX Runtime's dense int8 on the encoder's Linears
 * Thin: parse, validate (messages name the flag), call src/bench, print.
 */
import type { Argv, CommandModule } from 'yargs';

const KINDS = ['train-step', 'inference', 'sparse-linear', 'sparse-inference', 'compression'];

export const benchCommand: CommandModule = {
  command: 'bench <kind>',
  describe:
    'Measure: a training step (comparable with the PyTorch peer), ONNX Runtime inference, dense vs sparse Linear products, or file sizes at a model shape',
  // Async: the subcommands and the benchmarks they call load only for `bench`.
  builder: async (y: Argv) => {
    const k = await import('./bench-kinds.js');
    return (
      y
        .command(k.trainStepCommand)
        .command(k.inferenceCommand)
        .command(k.sparseLinearCommand)
        .command(k.sparseInferenceCommand)
        .command(k.compressionCommand)
        // No .positional('kind'): declared here it would show up in each subcommand's --help too.
        .demandCommand(1, `name a bench kind: ${KINDS.join(' or ')}`)
        .example('$0 bench train-step --batch 8 --json', 'tokens/s of a training step on this machine')
        .example('$0 bench inference model.int8.onnx', 'latency of an exported model')
        .example('$0 bench compression --preset L12-H768 --sparsity 0.9', 'file sizes at BERT-Base shape') as Argv
    );
  },
  handler: (a) => {
    // Reached only when <kind> is not a subcommand (yargs runs the subcommand's handler otherwise).
    throw new Error(`unknown bench kind '${String(a.kind)}'; choose one of: ${KINDS.join(', ')}`);
  },
};
