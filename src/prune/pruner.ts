/**
 * The pruner as a training hook: gradual pruning of named weights. The weights fall into groups
 * (torch.ao.pruning-style), each with its own schedule: a weight belongs to the first group whose
 * glob matches it, and to the default group (the pruner's `schedule`) otherwise. At a group's prune
 * steps its masks are recomputed from the current weights by the mask function; after every
 * optimizer step all masks are re-applied to the weights and to Adam's moments (mask-set.ts).
 *
 * Within a group the method decides the unit: per tensor (magnitude, block) or one threshold over
 * the group's tensors (global-magnitude). With no groups, one group holds every weight, in order.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BertModel } from '../model/bert.js';
import type { HookState, LoopContext, TrainHook } from '../train/hooks.js';
import type { Batch } from '../train/tasks.js';
import { MaskSet, type PrunedSparsity } from './mask-set.js';
import { maskRegistry } from './masks.js';
import { makeSchedule, type RegisteredScheduleConfig, type Schedule } from './schedules.js';
import { matches } from './select.js';

/** Weights matching `match` (a glob over weight names) follow `schedule` instead of the default. */
export interface PruneGroup {
  match: string;
  schedule: RegisteredScheduleConfig;
}

export interface PrunerSettings {
  /** Mask function name (masks.ts): magnitude, global-magnitude, block. */
  method: string;
  /** The default group's schedule: when and how much. */
  schedule: RegisteredScheduleConfig;
  block?: [number, number];
  groups?: PruneGroup[];
}

interface ResolvedGroup {
  weights: string[];
  /** Entries over the group's weights. */
  size: number;
  schedule: Schedule;
  lastTarget: number;
}

export class PrunerHook<B extends Batch = Batch> implements TrainHook<B> {
  readonly name = 'pruner';
  readonly key: string;
  private readonly set: MaskSet;
  private readonly groups: ResolvedGroup[];

  constructor(
    model: BertModel,
    /** The weights this hook prunes (see select.ts). */
    readonly weights: string[],
    readonly settings: PrunerSettings,
    /** Checkpoint key; give a second pruner in the same loop another one. */
    key = 'pruner',
  ) {
    this.key = key;
    maskRegistry.get(settings.method); // throws on an unknown method, listing the known ones
    if (!settings.schedule) throw new Error(`pruning method '${settings.method}' needs a schedule`);
    this.set = new MaskSet(model, weights, 'pruner');
    const extra = settings.groups ?? [];
    const members = extra.map(() => [] as string[]);
    const rest: string[] = [];
    for (const w of weights) {
      const i = extra.findIndex((g) => matches(w, g.match));
      (i >= 0 ? members[i] : rest).push(w);
    }
    const size = (names: string[]) => names.reduce((a, w) => a + model.params.get(w)!.size, 0);
    this.groups = [
      { weights: rest, size: size(rest), schedule: makeSchedule(settings.schedule), lastTarget: 0 },
      ...extra.map((g, i) => ({ weights: members[i], size: size(members[i]), schedule: makeSchedule(g.schedule), lastTarget: 0 })),
    ].filter((g) => g.weights.length > 0);
  }

  get masks(): ReadonlyMap<string, tf.Tensor> {
    return this.set.masks;
  }

  /** Recomputes a group's masks for a target sparsity from the current weights. */
  private recompute(g: ResolvedGroup, target: number): void {
    const fn = maskRegistry.get(this.settings.method);
    this.set.set(fn(this.set.current(g.weights), target, { block: this.settings.block }));
    g.lastTarget = target;
  }

  private step(t: number): void {
    for (const g of this.groups) {
      const s = g.schedule(t);
      if (s.prune) this.recompute(g, s.sparsity);
    }
  }

  init(ctx: LoopContext<B>): void {
    if (this.set.masks.size === 0) this.step(ctx.step);
    this.set.apply(ctx);
  }

  afterStep(ctx: LoopContext<B>): void {
    this.step(ctx.step);
    this.set.apply(ctx);
  }

  /** Per-tensor and overall sparsity of the pruned weights, measured from the weights themselves. */
  sparsity(): PrunedSparsity {
    return this.set.sparsity();
  }

  /** The targets of the last recomputation: one group's as is, several groups' weighted by size. */
  private lastTarget(): number {
    if (this.groups.length === 1) return this.groups[0].lastTarget;
    const total = this.groups.reduce((a, g) => a + g.size, 0);
    return total ? this.groups.reduce((a, g) => a + g.lastTarget * g.size, 0) / total : 0;
  }

  evaluate(): Record<string, number> {
    return { sparsity: this.set.sparsity().overall, target_sparsity: this.lastTarget() };
  }

  saveState(): HookState {
    return { tensors: this.set.saveTensors(), json: { lastTarget: this.lastTarget(), groupTargets: this.groups.map((g) => g.lastTarget) } };
  }

  loadState(state: HookState): void {
    this.set.loadTensors(state.tensors);
    const json = (state.json ?? {}) as { lastTarget?: number; groupTargets?: number[] };
    this.groups.forEach((g, i) => (g.lastTarget = json.groupTargets?.[i] ?? json.lastTarget ?? 0));
  }

  dispose(): void {
    this.set.dispose();
  }
}
