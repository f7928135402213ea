/**
 * `npm run bench [-- NAME…]`: runs all benchmarks, or the named ones, printing one JSON object per line:
 * {"bench", "case", "metric", "value", "unit"}. A benchmark is a file bench/<name>.ts that exports
 * `benchmark: Benchmark` (see harness.ts); files without one (helpers) are skipped.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { Benchmark, Result } from './harness.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));

/** The benchmarks under bench/, by name. */
export async function discover(): Promise<Map<string, Benchmark>> {
  const found = new Map<string, Benchmark>();
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.d.ts'));
  for (const file of files.sort()) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as { benchmark?: Benchmark };
    if (module.benchmark) found.set(module.benchmark.name, module.benchmark);
  }
  return found;
}

async function main(names: readonly string[]): Promise<void> {
  const available = await discover();
  const unknown = names.filter((n) => !available.has(n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; available: ${[...available.keys()].join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const chosen = names.length > 0 ? names : [...available.keys()];
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  for (const [i, name] of chosen.entries()) {
    // Progress on stderr, so that stdout stays JSON lines.
    process.stderr.write(`bench ${name} (${i + 1} of ${chosen.length}), ${elapsed()} so far\n`);
    const results: AsyncIterable<Result> | Result[] = await (available.get(name) as Benchmark).run();
    for await (const result of results) {
      console.log(JSON.stringify(result));
      process.stderr.write(`  ${name} ${result.case} ${result.metric} (${elapsed()})\n`);
    }
  }
}

await main(process.argv.slice(2).filter((a) => a !== '--'));
