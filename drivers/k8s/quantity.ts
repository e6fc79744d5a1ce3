/**
 * Kubernetes resource quantities (`250m`, `1.5Gi`, `512Mi`, `1e3`, ...):
 * parsed to plain numbers, and cpu/memory values written back as canonical
 * quantity strings with no float drift.
 *
 * Suffixes: binary `Ki Mi Gi Ti Pi Ei` (powers of 1024), decimal
 * `k K M G T P E` (powers of 1000; `K` is accepted as v1 did), and the
 * sub-units `m u n` (1e-3, 1e-6, 1e-9); or a decimal exponent (`1e3`, `2E-3`).
 *
 * @example
 * ```ts
 * parseQuantity("250m"); // 0.25
 * formatCpu(0.25); // "250m"
 * formatMemGiB(1.5); // "1536Mi"
 * ```
 */

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const SUB: Record<string, number> = { m: 1e3, u: 1e6, n: 1e9 };

const QUANTITY_RE =
  /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E|m|u|n))?$/;

/** A string that is not a Kubernetes quantity. */
export class QuantityError extends Error {
  constructor(text: string) {
    super(`"${text}" is not a Kubernetes quantity (examples: 250m, 0.5, 512Mi, 1.5Gi)`);
    this.name = "QuantityError";
  }
}

/**
 * Parse a quantity to its value in base units (cores, bytes). Numbers are
 * returned as they are. Throws {@link QuantityError}.
 */
export function parseQuantity(q: string | number): number {
  if (typeof q === "number") {
    if (!Number.isFinite(q)) throw new QuantityError(String(q));
    return q;
  }
  const m = QUANTITY_RE.exec(q.trim());
  if (!m) throw new QuantityError(q);
  const [, num, exp, suffix] = m;
  if (exp) return Number(num + exp);
  const n = Number(num);
  if (!suffix) return n;
  if (suffix in SUB) return n / SUB[suffix];
  if (suffix in BINARY) return n * BINARY[suffix];
  return Number(num + "e" + Math.log10(DECIMAL[suffix]));
}

/** Round away float noise (e.g. 0.30000000000000004 -> 0.3). */
export function clean(v: number, digits = 9): number {
  return Number(v.toFixed(digits));
}

/**
 * A cpu value in cores as a quantity: whole cores as `"2"`, otherwise whole
 * millicores (`"250m"`); Kubernetes does not allow a precision finer than 1m,
 * so finer values are rounded to the nearest millicore (see {@link isExactCpu}).
 */
export function formatCpu(cores: number): string {
  const milli = Math.round(cores * 1000);
  if (milli % 1000 === 0) return String(milli / 1000);
  return `${milli}m`;
}

/** True when `cores` is a whole number of millicores (so it is written exactly). */
export function isExactCpu(cores: number): boolean {
  const milli = cores * 1000;
  return Math.abs(milli - Math.round(milli)) < 1e-6;
}

/**
 * A memory value in GiB as a quantity in the largest binary unit that keeps it
 * whole (`1.5` -> `"1536Mi"`, `2` -> `"2Gi"`), else whole bytes.
 */
export function formatMemGiB(gib: number): string {
  const bytes = Math.round(gib * 2 ** 30);
  for (const unit of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"]) {
    const size = BINARY[unit];
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** A memory quantity in GiB (the unit of the `mem` setting). */
export function memToGiB(q: string | number): number {
  return clean(parseQuantity(q) / 2 ** 30);
}

/** A cpu quantity in cores. */
export function cpuToCores(q: string | number): number {
  return clean(parseQuantity(q));
}
