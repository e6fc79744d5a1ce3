/**
 * The data set of the cache benchmark: posts with an id and two popularity
 * ranks (`rank`, `rank_decayed`), like v1's `hn-posts.csv`. It is generated
 * deterministically from a seed (heavy-tailed ranks, as on a news site)
 * instead of shipping a large file; a real CSV with those columns can be
 * used instead. Also the seeded post payload and the seeded sampler.
 */

/** One post. */
export interface Post {
  id: string;
  rank: number;
  rank_decayed: number;
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = (seed >>> 0) || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pareto tail exponent of the generated ranks: about 15 % of posts rank above 115. */
const ALPHA = 0.4;
/** Highest generated rank. */
const MAX_RANK = 5000;

/**
 * Generate `count` posts from `seed`. Ranks follow a Pareto distribution
 * (most posts have a handful of points, a few have thousands); the decayed
 * rank scales it by the post's age (0-48 hours) like a front-page score.
 */
export function generatePosts(count: number, seed: number): Post[] {
  const rnd = seededRandom(seed);
  const posts: Post[] = [];
  for (let i = 0; i < count; i++) {
    const u = 1 - rnd(); // (0, 1]
    const rank = Math.min(MAX_RANK, Math.floor(1 / Math.pow(u, 1 / ALPHA)));
    const ageHours = rnd() * 48;
    const rank_decayed = Math.round(rank * Math.pow(2 / (ageHours + 2), 0.5));
    posts.push({ id: String(20000000 + i * 7 + Math.floor(rnd() * 7)), rank, rank_decayed });
  }
  return posts;
}

/**
 * Parse a CSV with a header naming at least `id`, `rank` and `rank_decayed`
 * (v1's hn-posts.csv). Quoted fields without embedded commas are accepted.
 * @throws Error naming the line that is wrong.
 */
export function parsePostsCsv(text: string, file = "data file"): Post[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new Error(`${file} is empty`);
  const unquote = (s: string) => s.trim().replace(/^"(.*)"$/, "$1");
  const header = lines[0].split(",").map(unquote);
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${file}: the header has no "${name}" column`);
    return i;
  };
  const [iId, iRank, iDecayed] = [col("id"), col("rank"), col("rank_decayed")];
  return lines.slice(1).map((line, n) => {
    const f = line.split(",").map(unquote);
    const rank = Number(f[iRank]);
    const rank_decayed = Number(f[iDecayed]);
    if (!f[iId] || !Number.isFinite(rank) || !Number.isFinite(rank_decayed)) {
      throw new Error(`${file}:${n + 2}: expected an id and numeric rank and rank_decayed`);
    }
    return { id: f[iId], rank, rank_decayed };
  });
}

/** The payload stored for a missed post: `size` seeded characters from A-Z0-9 (v1's random contents). */
export function generatePayload(size: number, seed: number): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const rnd = seededRandom(seed ^ 0x5bd1e995);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = alphabet.charCodeAt(Math.floor(rnd() * alphabet.length));
  return out;
}

/** Split posts into popular (rank above the cutoff) and unpopular ones. */
export function splitByRank(
  posts: Post[],
  field: "rank" | "rank_decayed",
  cutoff: number,
): { popular: Post[]; unpopular: Post[] } {
  const popular: Post[] = [];
  const unpopular: Post[] = [];
  for (const p of posts) (p[field] > cutoff ? popular : unpopular).push(p);
  return { popular, unpopular };
}

/**
 * One user's reads (v1's access pattern): `floor(n * popularFrac)` posts
 * drawn from the popular ones and the rest from the unpopular ones, with
 * replacement, then `n` drawn with replacement from that mix.
 */
export function accessPattern(
  popular: Post[],
  unpopular: Post[],
  n: number,
  popularFrac: number,
  rnd: () => number,
): Post[] {
  const nPop = Math.floor(n * popularFrac);
  const pick = (from: Post[]) => from[Math.floor(rnd() * from.length)];
  const mix: Post[] = [];
  for (let i = 0; i < nPop; i++) mix.push(pick(popular));
  for (let i = nPop; i < n; i++) mix.push(pick(unpopular));
  const out: Post[] = [];
  for (let i = 0; i < n; i++) out.push(pick(mix));
  return out;
}
