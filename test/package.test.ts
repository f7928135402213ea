import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as `npm pack` makes it, installed the way npm would install it, but without a download: the
 * package is packed from a copy of the checkout (so the repository's own dist/ is never touched), unpacked into
 * TMP/node_modules/reverie, and its dependencies are links to this checkout's node_modules.
 */
const ROOT = resolve('.');
const PKG = JSON.parse(readFileSync('package.json', 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};
const MODELS = (process.env.REVERIE_MODEL_PATH ?? '../shared/models')
  .split(':')
  .map((p) => resolve(ROOT, p))
  .join(':');

let tmp = '';
let packed: string[] = [];

/** Runs a command in TMP, as a researcher would in a folder where they installed reverie. */
function inTmp(command: string, args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    cwd: tmp,
    encoding: 'utf8',
    input,
    timeout: 60_000,
    env: { ...process.env, REVERIE_MODEL_PATH: MODELS, REVERIE_OFFLINE: '1', NODE_OPTIONS: '' },
  });
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'reverie-package-'));
  const stage = join(tmp, 'stage');
  for (const entry of [
    'src',
    'web',
    'bin',
    'README.md',
    'LICENSE',
    'package.json',
    'tsconfig.json',
    'tsconfig.build.json',
  ]) {
    if (existsSync(entry)) cpSync(entry, join(stage, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');
  // `npm pack` runs the prepare script (npm run build), then packs what "files" names.
  execFileSync('npm', ['pack', '--pack-destination', tmp], { cwd: stage, stdio: 'pipe', timeout: 120_000 });
  const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack left no tarball in ${tmp}`);
  packed = execFileSync('tar', ['-tzf', join(tmp, tarball)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);

  const installed = join(tmp, 'node_modules', 'reverie');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(tmp, tarball), '-C', installed, '--strip-components=1']);
  // What npm install would add beside it: the dependencies (and, for the consumer's type check, Node's types).
  for (const dep of [...Object.keys(PKG.dependencies), '@types/node']) {
    mkdirSync(dirname(join(tmp, 'node_modules', dep)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), join(tmp, 'node_modules', dep), 'dir');
  }
  mkdirSync(join(tmp, 'node_modules', '.bin'));
  symlinkSync('../reverie/bin/reverie.js', join(tmp, 'node_modules', '.bin', 'reverie'));
  chmodSync(join(installed, 'bin', 'reverie.js'), 0o755);
  writeFileSync(
    join(tmp, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the compiled JavaScript, its declarations, the bin and the README, and no sources', () => {
    expect(packed).toContain('package/package.json');
    expect(packed).toContain('package/README.md');
    expect(packed).toContain('package/bin/reverie.js');
    expect(packed).toContain('package/dist/index.js');
    expect(packed).toContain('package/dist/index.d.ts');
    expect(packed).toContain('package/dist/cli/main.js');
    expect(packed).toContain('package/dist/web/app.js'); // the web bundle of reverie serve
    expect(packed.filter((f) => !/^package\/(dist|bin)\/|^package\/[^/]+$/.test(f))).toEqual([]);
    expect(packed.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('imports from a plain node script, by name and dynamically', () => {
    writeFileSync(
      join(tmp, 'script.mjs'),
      [
        "import { dream, loadModel } from 'reverie';",
        "const all = await import('reverie');",
        "const subpaths = await Promise.all(['graph', 'nn', 'runtime', 'runtime/web'].map((p) => import(`reverie/${p}`)));",
        'console.log(typeof dream, typeof loadModel, all.dream === dream, subpaths.map((m) => Object.keys(m).length > 0).join());',
      ].join('\n'),
    );
    const r = inTmp(process.execPath, ['script.mjs']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function true true,true,true,true');
  });

  it('imports from node -e, as CommonJS and as a module', () => {
    const cjs = inTmp(process.execPath, ['-e', "import('reverie').then((m) => console.log(typeof m.dream))"]);
    expect(cjs.stdout.trim()).toBe('function');
    const esm = inTmp(process.execPath, [
      '--input-type=module',
      '-e',
      "import { dream, loadModel } from 'reverie'; console.log(typeof dream, typeof loadModel)",
    ]);
    expect(esm.stdout.trim()).toBe('function function');
  });

  it('imports in the Node REPL with await', () => {
    // One line per await: the REPL reads piped input on while a top-level await is pending.
    const r = inTmp(process.execPath, ['-i'], "(await import('reverie')).loadModel.name\n.exit\n");
    expect(r.stdout).toContain("'loadModel'");
    expect(r.stdout).not.toMatch(/Uncaught|Error/);
  });

  it('type-checks a consumer against its declarations through the "types" conditions', () => {
    writeFileSync(
      join(tmp, 'consumer.ts'),
      [
        "import { dream, loadModel, type Model } from 'reverie';",
        "import { grad } from 'reverie/graph';",
        "import { rmsNorm } from 'reverie/nn';",
        "import { compile } from 'reverie/runtime';",
        "import { webRuntime } from 'reverie/runtime/web';",
        'export async function best(): Promise<string | undefined> {',
        "  const model: Model = await loadModel('karpathy/tinyllamas/stories260K');",
        "  const run = await dream({ model, target: 'blocks.4.mlp.hook_post[0]', options: { iters: 1 } });",
        '  // @ts-expect-error: the options are typed, so a misspelt one is an error',
        "  await dream({ model, target: 'blocks.4.mlp.hook_post[0]', options: { iterations: 1 } });",
        '  return run.frontier.at(-1)?.text;',
        '}',
        'export { grad, rmsNorm, compile, webRuntime };',
      ].join('\n'),
    );
    writeFileSync(
      join(tmp, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
    const r = inTmp(process.execPath, [tsc, '-p', '.']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs as the reverie command: its version, and three generated tokens', () => {
    const version = inTmp(join('node_modules', '.bin', 'reverie'), ['--version']);
    expect(version.stdout.trim()).toBe(PKG.version);
    const generated = inTmp(join('node_modules', '.bin', 'reverie'), ['generate', '--max-tokens', '3']);
    expect(generated.status).toBe(0);
    expect(generated.stdout.trim()).not.toBe('');
  });

  it('serves its web pages and their bundle from the compiled package', async () => {
    const child = spawn(
      join('node_modules', '.bin', 'reverie'),
      ['serve', '--port', '0', '--store', join(tmp, 'serve.db')],
      {
        cwd: tmp,
        env: { ...process.env, REVERIE_MODEL_PATH: MODELS, REVERIE_OFFLINE: '1', NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const url = await new Promise<string>((found, failed) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const match = /http:\/\/\S+/.exec(out);
          if (match) found(match[0]);
        });
        child.on('exit', (code) => failed(new Error(`reverie serve exited with ${code}`)));
      });
      expect((await fetch(url)).status).toBe(200);
      const bundle = await fetch(new URL('/static/app.js', url));
      expect(bundle.status).toBe(200);
      expect((await bundle.text()).length).toBeGreaterThan(10_000);
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((done) => child.on('exit', done));
        child.kill('SIGINT');
        await exited;
      }
    }
  });

  it('sweeps with worker processes forked from the compiled package', () => {
    const corpus = join(ROOT, '..', 'shared', 'corpora', 'tinystories', 'validation-head.txt');
    const swept = inTmp(join('node_modules', '.bin', 'reverie'), [
      ...['sweep', '--target', 'blocks.1.mlp.hook_post[0:2]', '--corpus', corpus, '--max-tokens', '500'],
      ...['--top', '4', '--iters', '2', '--population', '2', '--children', '4', '--topk', '8', '--jobs', '2'],
      ...['--store', join(tmp, 'sweep.db')],
    ]);
    expect(swept.status, swept.stderr).toBe(0);
    expect(swept.stdout).toMatch(/^wins: \d of 2 features/m);
  });
});

describe('npx reverie in the checkout', () => {
  it('prints the version and no npm warning', () => {
    const r = spawnSync('npx', ['reverie', '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.trim()).toBe(PKG.version);
    expect(r.stderr).not.toContain('npm warn');
  });
});
