/**
 * How close EPO's fitness forward comes to the machine's GEMM peak: the children of one iteration on the
 * Pythia-70m-shaped model (8 parents, 32 children each, one uniformly chosen position changed, as EPO draws
 * them), evaluated as `reverie dream` evaluates them on this model, timed end to end (packing included). Its
 * FLOPs are counted from the shapes for the work actually done — the rows that go through the blocks (block 0
 * of the positions after a child's change only in part), the attention of each child over its T positions,
 * the logits formed — and divided by the time; the ratio is
 * over the `gemm` benchmark's GFLOP/s measured in the same run.
 */
import { ModelEvaluator, defaultEvaluation } from '../src/dream/engine/evaluator.ts';
import { withGradients, type Child } from '../src/dream/epo.ts';
import { Rng } from '../src/graph/index.ts';
import type { ModelConfig } from '../src/io/hf-config.ts';
import { parseTarget } from '../src/objectives/target.ts';
import { measureGemm } from './gemm.ts';
import { timeIt, type Benchmark, type Result } from './harness.ts';
import { BENCH_MODELS } from './models.ts';

const MEMBERS = 8;
const CHILDREN = 256;
const SEQ_LEN = 12;

/**
 * Multiply-add FLOPs (2 per MAC) of incremental evaluation: `rows` tokens through the blocks' matrices,
 * attention of `sequences` children over their T positions each, and logits at `logitRows` rows. Of the
 * rows, `reused` take block 0 from their parent's cache but for its attention (FirstBlockReuse): there they
 * only form the output projection, and, in a sequential block, the MLP.
 */
export function incrementalFlops(
  config: ModelConfig,
  {
    rows,
    sequences,
    length,
    logitRows,
    reused = 0,
  }: { rows: number; sequences: number; length: number; logitRows: number; reused?: number },
): number {
  const D = config.hidden;
  const kv = (config.arch === 'llama' ? config.kvHeads : config.heads) * config.headDim;
  const mlp = (config.arch === 'llama' ? 3 : 2) * D * config.intermediate;
  const projections = D * (D + 2 * kv);
  const perRow = projections + D * D + mlp;
  const parallel = config.arch === 'gpt-neox' && config.parallelResidual;
  const saved = reused * (projections + (parallel ? mlp : 0));
  const attention = 2 * length * length * config.heads * config.headDim;
  const blocks = config.layers * (rows * perRow + sequences * attention) - saved;
  return 2 * (blocks + logitRows * D * config.vocabSize);
}

export const benchmark: Benchmark = {
  name: 'efficiency',
  async *run(): AsyncIterable<Result> {
    const name = 'pythia-70m-shape';
    const model = await BENCH_MODELS[name]!();
    const target = parseTarget('blocks.3.mlp.hook_post[0]', { model, seqLen: SEQ_LEN });
    const V = model.config.vocabSize;
    const evaluation = defaultEvaluation(model.config);
    const evaluator = await ModelEvaluator.create(model, target, {
      seqLen: SEQ_LEN,
      topk: 512,
      banned: Array.from({ length: V }, () => false),
      evaluation,
      argmax: false,
    });
    try {
      const rng = new Rng(0);
      const prompts = Array.from({ length: MEMBERS }, () =>
        Array.from({ length: SEQ_LEN }, () => rng.int(V)),
      );
      const members = await withGradients(
        evaluator,
        prompts,
        prompts.map(() => 1),
      );
      const children: Child[] = Array.from({ length: CHILDREN }, (_, j) => {
        const parent = members[j % MEMBERS]!;
        const position = rng.int(SEQ_LEN);
        const ids = [...parent.ids];
        ids[position] = (ids[position]! + 1 + rng.int(V - 1)) % V;
        return { ids, parent: parent.ids, position };
      });
      const seconds = await timeIt(() => evaluator.fitness(children), { warmup: 2, runs: 5 });
      const incremental = evaluator.evaluation === 'incremental';
      const T = SEQ_LEN;
      const flops = incremental
        ? incrementalFlops(model.config, {
            rows: children.reduce((s, c) => s + T - c.position, 0),
            sequences: CHILDREN,
            length: T,
            logitRows: children.reduce((s, c) => s + T - 1 - c.position, 0),
            reused: children.reduce((s, c) => s + T - 1 - c.position, 0), // the rows after each change
          })
        : incrementalFlops(model.config, {
            rows: CHILDREN * T,
            sequences: CHILDREN,
            length: T,
            logitRows: CHILDREN * (T - 1),
          });
      const gemm = await measureGemm(2);
      const gflops = flops / seconds / 1e9;
      const at = `${name}/fitness`;
      yield { bench: 'efficiency', case: at, metric: 'gflops', value: gflops, unit: 'GFLOP/s' };
      yield { bench: 'efficiency', case: at, metric: 'gemm_gflops', value: gemm, unit: 'GFLOP/s' };
      yield {
        bench: 'efficiency',
        case: at,
        metric: 'fraction_of_gemm',
        value: gflops / gemm,
        unit: 'ratio',
      };
    } finally {
      await evaluator.dispose();
    }
  },
};
