/**
 * Shapes with symbolic dimensions. A dimension is a number or a monomial over named symbols written
 * "B", "B*T" or "4*B" (a constant coefficient times symbols), enough for reshapes that merge or split axes.
 */
export type Dim = number | string;
export type Shape = readonly Dim[];

export class ShapeError extends Error {
  override name = 'ShapeError';
}

interface Monomial {
  coefficient: number;
  symbols: string[];
}

function toMonomial(dim: Dim): Monomial {
  if (typeof dim === 'number') return { coefficient: dim, symbols: [] };
  let coefficient = 1;
  const symbols: string[] = [];
  for (const factor of dim.split('*')) {
    if (/^\d+$/.test(factor)) coefficient *= Number(factor);
    else symbols.push(factor);
  }
  return { coefficient, symbols: symbols.sort() };
}

function fromMonomial({ coefficient, symbols }: Monomial): Dim {
  if (symbols.length === 0) return coefficient;
  return [...(coefficient === 1 ? [] : [String(coefficient)]), ...symbols].join('*');
}

export const isSymbolic = (dim: Dim): dim is string => typeof dim === 'string';

export function dimProduct(dims: Shape): Dim {
  const result: Monomial = { coefficient: 1, symbols: [] };
  for (const dim of dims) {
    const m = toMonomial(dim);
    result.coefficient *= m.coefficient;
    result.symbols.push(...m.symbols);
  }
  result.symbols.sort();
  return fromMonomial(result);
}

/** a / b for monomials, or undefined when b does not divide a. */
export function dimQuotient(a: Dim, b: Dim): Dim | undefined {
  const ma = toMonomial(a);
  const mb = toMonomial(b);
  if (mb.coefficient === 0 || ma.coefficient % mb.coefficient !== 0) return undefined;
  const symbols = [...ma.symbols];
  for (const s of mb.symbols) {
    const at = symbols.indexOf(s);
    if (at < 0) return undefined;
    symbols.splice(at, 1);
  }
  return fromMonomial({ coefficient: ma.coefficient / mb.coefficient, symbols });
}

/**
 * dim + n, for static dims and for symbolic dims written "X", "X+k" or "X-k", keeping the offset folded
 * so that a slice and the pad of its gradient return to the same dim ("B" → "B-1" → "B").
 */
export function dimPlus(dim: Dim, n: number): Dim {
  if (!isSymbolic(dim)) return dim + n;
  const m = /^(.*?)([+-]\d+)$/.exec(dim);
  const base = m ? (m[1] as string) : dim;
  const offset = (m ? Number(m[2]) : 0) + n;
  return offset === 0 ? base : `${base}${offset > 0 ? '+' : ''}${offset}`;
}

export const sameDim = (a: Dim, b: Dim): boolean => String(dimProduct([a])) === String(dimProduct([b]));

export const sameShape = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => sameDim(d, b[i] as Dim));

export const formatShape = (shape: Shape): string => `[${shape.join(',')}]`;

/** NumPy broadcasting; a symbolic dim against a number other than 1 is taken to be that number. */
export function broadcastShapes(a: Shape, b: Shape): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (sameDim(da, db) || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (isSymbolic(da) && !isSymbolic(db)) out.push(db);
    else if (isSymbolic(db) && !isSymbolic(da)) out.push(da);
    else
      throw new ShapeError(`cannot broadcast ${formatShape(a)} with ${formatShape(b)}: dim ${da} vs ${db}`);
  }
  return out;
}

/** Normalizes a possibly negative axis, checking it against the rank. */
export function normalizeAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new ShapeError(`${what} ${axis} is out of range for rank ${rank} (expected ${-rank}..${rank - 1})`);
  return a;
}

export const staticSize = (shape: Shape): number | undefined => {
  const p = dimProduct(shape);
  return typeof p === 'number' ? p : undefined;
};
