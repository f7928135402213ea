/**
 * Peak resident memory of a 20-iteration EPO run on the Pythia-160m-shaped random model (default options,
 * evaluation chosen as `reverie dream` chooses it), against the size of its fp32 weights. The run happens in
 * a child process of its own, so that the peak is the run's and not that of benchmarks before it: the
 * child is this file, run as a script.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dream } from '../src/dream/run.ts';
import type { Benchmark, Result } from './harness.ts';
import { parameterCount, pythia160mShape } from './models.ts';

const ITERS = 20;
const MiB = 2 ** 20;

interface Measured {
  peakRssMb: number;
  weightsMb: number;
  evaluation: string;
}

/** The run itself (in the child): the model, 20 iterations, then the process's peak RSS. */
async function measure(): Promise<Measured> {
  const model = pythia160mShape();
  const summary = await dream({
    model,
    modelSha256: 'bench',
    target: 'blocks.5.mlp.hook_post[0]',
    options: { iters: ITERS },
  });
  return {
    peakRssMb: (process.resourceUsage().maxRSS * 1024) / MiB,
    weightsMb: (4 * parameterCount(model.config)) / MiB,
    evaluation: summary.evaluation,
  };
}

const self = fileURLToPath(import.meta.url);

export const benchmark: Benchmark = {
  name: 'memory',
  async run(): Promise<Result[]> {
    // The child runs under the same loader as this process (tsx), with this file as its script.
    const stdout = execFileSync(process.execPath, [...process.execArgv, self], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const measured = JSON.parse(stdout.trim().split('\n').pop() as string) as Measured;
    const at = `pythia-160m-shape`;
    return [
      { bench: 'memory', case: at, metric: 'peak_rss_mb', value: measured.peakRssMb, unit: 'MiB' },
      { bench: 'memory', case: at, metric: 'weights_mb', value: measured.weightsMb, unit: 'MiB' },
    ];
  },
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  console.log(JSON.stringify(await measure()));
