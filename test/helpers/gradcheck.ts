/**
 * A reusable gradient checker: for a graph y = f(x₁ … xₙ), seeded random tangents t and cotangent c, it
 * checks ⟨c, J·t⟩ (J·t by central differences of the forward pass) against ⟨Jᵀc, t⟩ (reverse mode, `grad`).
 * One compiled session per check computes both the output and the gradients.
 */
import {
  grad,
  input,
  isFloat,
  mul,
  reduceSum,
  topologicalOrder,
  type DType,
  type HostData,
  type Node,
  type Shape,
} from '../../src/graph/index.ts';
import { compile, type HostTensor } from '../../src/runtime/index.ts';

export type FloatDType = 'float32' | 'float64';

/**
 * Per working precision: the central-difference step (along a unit-variance tangent) and the relative
 * tolerance on |⟨c,J·t⟩ − ⟨Jᵀc,t⟩|, measured against Σ|cᵢ(J·t)ᵢ| so that cancellation in the dot product
 * cannot fail a correct VJP. float64: truncation ε² ≈ 1e-10, rounding 1e-16/ε ≈ 1e-11. float32: rounding
 * 6e-8/ε ≈ 2e-5, truncation ε² ≈ 1e-5 (times the third derivative); a tanh MLP with softmax measured 1e-4.
 */
export const TOLERANCE: Readonly<Record<FloatDType, { eps: number; rtol: number }>> = {
  float64: { eps: 1e-5, rtol: 1e-6 },
  float32: { eps: 3e-3, rtol: 1e-3 },
};

/**
 * Primitives whose ONNX Runtime CPU kernels have no float64 version (found by compiling each primitive in
 * float64: "Could not find an implementation for Erf(13)"). A check whose graph, forward or backward,
 * contains one of them runs in float32 with the float32 tolerance.
 */
export const FLOAT32_ONLY: ReadonlySet<string> = new Set(['Erf']);

/** A differentiated input: its shape (symbolic dims take their sizes from `sizes`) and how to draw it. */
export interface InputSpec {
  shape: Shape;
  /** Default: float64, or float32 when the graph needs an op in {@link FLOAT32_ONLY}. */
  dtype?: FloatDType;
  /** 'normal' (default): N(0,1); 'positive': uniform in [0.5, 2]; or the values themselves (static shapes). */
  values?: 'normal' | 'positive' | Float64Array | readonly number[];
}

/** A non-differentiated graph input (indices, masks), passed to the builder after the differentiated ones. */
export interface FixedInput {
  dtype: DType;
  shape: Shape;
  /** The values, or a function of the run's concrete shape (for symbolic shapes). */
  data: HostData | ((shape: readonly number[]) => HostData);
}

export interface GradcheckOptions {
  seed?: number;
  /** Concrete sizes of the symbolic dims, one run per position: `{ B: [1, 3] }` checks at B=1 and B=3. */
  sizes?: Readonly<Record<string, readonly number[]>>;
  fixed?: readonly FixedInput[];
  /** Override the tolerance table (only for checks that justify it). */
  eps?: number;
  rtol?: number;
}

export interface GradcheckRun {
  sizes: Record<string, number>;
  /** ⟨c, J·t⟩ by central differences. */
  forward: number;
  /** ⟨Jᵀc, t⟩ by reverse mode. */
  reverse: number;
  scale: number;
}

export interface GradcheckReport {
  /** The working precision: float32 when any float value in the graph is float32. */
  precision: FloatDType;
  /** Primitive names in the forward and backward graphs. */
  ops: Set<string>;
  runs: GradcheckRun[];
}

export class GradcheckError extends Error {
  override name = 'GradcheckError';
}

/** A seeded PRNG (mulberry32) with Box–Muller normals. */
export function rng(seed: number): { uniform(): number; normal(): number } {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    const u = 1 - uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

/** Runs the graph computing `outputs` once on `feeds` (one session, one thread) and returns its outputs. */
export async function evaluate(
  outputs: Readonly<Record<string, Node>>,
  feeds: Readonly<Record<string, HostTensor>> = {},
): Promise<Record<string, HostTensor>> {
  const session = await compile({ outputs, threads: 1 });
  try {
    return await session.run(feeds);
  } finally {
    await session.dispose();
  }
}

/** A float host tensor's values as float64. */
export const values = (t: HostTensor | undefined): Float64Array => {
  if (!t) throw new GradcheckError('missing output');
  if (!isFloat(t.dtype)) throw new GradcheckError(`expected a float tensor, got ${t.dtype}`);
  return Float64Array.from(t.data as Float32Array | Float64Array);
};

/** The concrete size of a dim: a number, or an expression over symbols with +, − and * ("B*T", "B+2"). */
export function resolveDim(dim: number | string, sizes: Readonly<Record<string, number>>): number {
  if (typeof dim === 'number') return dim;
  const term = (t: string): number =>
    t.split('*').reduce((p, f) => {
      const v = /^\d+$/.test(f) ? Number(f) : sizes[f];
      if (v === undefined) throw new GradcheckError(`no size given for symbolic dim "${f}" (in "${dim}")`);
      return p * v;
    }, 1);
  let total = 0;
  for (const m of dim.replace(/\s/g, '').matchAll(/([+-]?)([^+-]+)/g))
    total += (m[1] === '-' ? -1 : 1) * term(m[2] as string);
  return total;
}

const resolveShape = (shape: Shape, sizes: Readonly<Record<string, number>>): number[] =>
  shape.map((d) => resolveDim(d, sizes));

const size = (shape: readonly number[]): number => shape.reduce((p, q) => p * q, 1);

const floatArray = (dtype: FloatDType, v: ArrayLike<number>): HostData =>
  dtype === 'float32' ? Float32Array.from(v) : Float64Array.from(v);

/** The working dtype of a check: float32 if its graph (forward or backward) needs a float32-only op. */
function chooseDType(
  build: (inputs: Node[], fixed: Node[]) => Node,
  specs: readonly InputSpec[],
  fixed: readonly FixedInput[],
): FloatDType {
  const xs = specs.map((s, i) => input(`x${i}`, s.dtype ?? 'float64', s.shape));
  const out = build(xs, fixedNodes(fixed));
  if (!isFloat(out.dtype)) return 'float64';
  const loss = out.rank === 0 ? out : reduceSum(out, [...out.shape.keys()]);
  const ops = topologicalOrder([out, ...grad(loss, xs)]).map((n) => n.op);
  return ops.some((op) => FLOAT32_ONLY.has(op)) ? 'float32' : 'float64';
}

const fixedNodes = (fixed: readonly FixedInput[]): Node[] =>
  fixed.map((f, i) => input(`fixed${i}`, f.dtype, f.shape));

/**
 * Checks the reverse-mode gradient of `build(inputs, fixed)` against central differences; throws a
 * GradcheckError naming both sides when they disagree. Returns what was compared, and the ops it covered.
 */
export async function gradcheck(
  build: (inputs: Node[], fixed: Node[]) => Node,
  specs: readonly InputSpec[],
  options: GradcheckOptions = {},
): Promise<GradcheckReport> {
  const fixed = options.fixed ?? [];
  const defaultDType = specs.every((s) => s.dtype) ? 'float64' : chooseDType(build, specs, fixed);
  const dtypes = specs.map((s) => s.dtype ?? defaultDType);
  const xs = specs.map((s, i) => input(`x${i}`, dtypes[i] as FloatDType, s.shape));
  const out = build(xs, fixedNodes(fixed));
  if (!isFloat(out.dtype)) throw new GradcheckError(`the checked output must be float, got ${out.dtype}`);
  const outDType = out.dtype as FloatDType;
  const cotangent = input('cotangent', outDType, out.shape);
  const product = mul(out, cotangent);
  const loss = out.rank === 0 ? product : reduceSum(product, [...out.shape.keys()]);
  const grads = grad(loss, xs);
  const outputs: Record<string, Node> = { out };
  grads.forEach((g, i) => (outputs[`grad${i}`] = g));

  const graph = topologicalOrder(Object.values(outputs));
  const ops = new Set(graph.map((n) => n.op));
  const precision: FloatDType = graph.some((n) => n.dtype === 'float32') ? 'float32' : 'float64';
  const eps = options.eps ?? TOLERANCE[precision].eps;
  const rtol = options.rtol ?? TOLERANCE[precision].rtol;

  const symbols = Object.entries(options.sizes ?? {});
  const runCount = symbols.length === 0 ? 1 : Math.max(...symbols.map(([, v]) => v.length));
  const random = rng(options.seed ?? 1234);
  const session = await compile({ outputs, threads: 1 });
  const runs: GradcheckRun[] = [];
  try {
    for (let r = 0; r < runCount; r++) {
      const sizes = Object.fromEntries(symbols.map(([k, v]) => [k, v[Math.min(r, v.length - 1)] as number]));
      const shapes = specs.map((s) => resolveShape(s.shape, sizes));
      const x = specs.map((s, i) => draw(s, shapes[i] as number[], random));
      const t = shapes.map((shape) => Float64Array.from({ length: size(shape) }, random.normal));
      const outShape = resolveShape(out.shape, sizes);
      const c = Float64Array.from({ length: size(outShape) }, random.normal);

      const feeds: Record<string, HostTensor> = {
        cotangent: { dtype: outDType, shape: outShape, data: floatArray(outDType, c) },
      };
      fixed.forEach((f, i) => {
        const shape = resolveShape(f.shape, sizes);
        feeds[`fixed${i}`] = {
          dtype: f.dtype,
          shape,
          data: typeof f.data === 'function' ? f.data(shape) : f.data,
        };
      });
      const at = async (step: number) => {
        specs.forEach((_, i) => {
          const xi = x[i] as Float64Array;
          const ti = t[i] as Float64Array;
          const dtype = dtypes[i] as FloatDType;
          const data = floatArray(dtype, step === 0 ? xi : xi.map((v, j) => v + step * (ti[j] as number)));
          feeds[`x${i}`] = { dtype, shape: shapes[i] as number[], data };
        });
        return session.run(feeds);
      };

      const base = await at(0);
      let reverse = 0;
      let reverseScale = 0;
      grads.forEach((_, i) => {
        const g = values(base[`grad${i}`]);
        const ti = t[i] as Float64Array;
        g.forEach((v, j) => {
          reverse += v * (ti[j] as number);
          reverseScale += Math.abs(v * (ti[j] as number));
        });
      });
      const plus = values((await at(eps))['out']);
      const minus = values((await at(-eps))['out']);
      let forward = 0;
      let forwardScale = 0;
      c.forEach((ci, j) => {
        const jt = ((plus[j] as number) - (minus[j] as number)) / (2 * eps);
        forward += ci * jt;
        forwardScale += Math.abs(ci * jt);
      });
      const scale = Math.max(forwardScale, reverseScale);
      runs.push({ sizes, forward, reverse, scale });
      if (
        !Number.isFinite(forward) ||
        !Number.isFinite(reverse) ||
        Math.abs(forward - reverse) > rtol * scale + 1e-12
      )
        throw new GradcheckError(
          `gradient check failed${symbols.length > 0 ? ` at ${JSON.stringify(sizes)}` : ''} (${precision}): ` +
            `⟨c, J·t⟩ by central differences = ${forward}, ⟨Jᵀc, t⟩ by reverse mode = ${reverse}, ` +
            `|difference| ${Math.abs(forward - reverse)} > rtol ${rtol} × scale ${scale}`,
        );
    }
  } finally {
    await session.dispose();
  }
  return { precision, ops, runs };
}

function draw(spec: InputSpec, shape: readonly number[], random: ReturnType<typeof rng>): Float64Array {
  const n = size(shape);
  const v = spec.values ?? 'normal';
  if (v === 'normal') return Float64Array.from({ length: n }, random.normal);
  if (v === 'positive') return Float64Array.from({ length: n }, () => 0.5 + 1.5 * random.uniform());
  if (v.length !== n)
    throw new GradcheckError(`input of shape [${shape}] needs ${n} values, got ${v.length}`);
  return Float64Array.from(v);
}
