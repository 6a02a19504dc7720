// Reed–Solomon erasure code over GF(2^8), byte-compatible with Leopard-RS's 8-bit field (the code the
// segmentation spec's reference implementation uses through nim-leopard). Leopard works in a Cantor
// basis of GF(2^8) (polynomial 0x11D) and encodes with the additive FFT of Lin, Han and Chung: parity is
// FFT(Σ_chunks IFFT(data chunk)), over m = the next power of two at or above the parity count. Leopard
// picks this field when NextPow2(m + dataCount) ≤ 256; larger sets use its 16-bit field, not built here.
//
// The encoder follows that construction exactly, so parity shards match Leopard's byte for byte
// (test/core/leopard8.test.ts checks vectors made with the C++ library). The decoder does not follow
// Leopard's: the code is linear and systematic, so the parity rows of its generator matrix are read off by
// encoding unit vectors, and missing data is solved from e parity rows by inverting an e × e submatrix
// (every square submatrix of an MDS code's parity part is invertible). Plain scalar JavaScript: a 1 MB
// payload in ~100 KB shards encodes and decodes in milliseconds, and e stays small at a 12.5 % rate.

const ORDER = 256;
const MODULUS = 255;
const POLYNOMIAL = 0x11d;
const CANTOR_BASIS = [1, 214, 152, 146, 86, 200, 88, 230] as const;

/** Most shards (data + parity) a set may have for this field. */
export const LEOPARD8_MAX_SHARDS = 256;

interface Field {
  /** log[x] in the Cantor basis; log[0] = MODULUS. */
  readonly log: Uint8Array;
  /** exp[l] for l in 0..MODULUS (exp[MODULUS] = exp[0]). */
  readonly exp: Uint8Array;
  /** FFT twist factors, as logarithms (MODULUS means "multiply by zero": skip). */
  readonly skew: Uint8Array;
  /** mulTable[l * 256 + y] = y · exp(l): one 256-byte row per logarithm. */
  readonly mulTable: Uint8Array;
}

function addMod(a: number, b: number): number {
  const sum = a + b;
  return (sum + (sum >> 8)) & 0xff;
}

function buildField(): Field {
  const lfsrLog = new Uint8Array(ORDER);
  let state = 1;
  for (let i = 0; i < MODULUS; i++) {
    lfsrLog[state] = i;
    state <<= 1;
    if (state >= ORDER) state ^= POLYNOMIAL;
  }
  lfsrLog[0] = MODULUS;
  const log = new Uint8Array(ORDER);
  for (let bit = 0; bit < 8; bit++) {
    const width = 1 << bit;
    for (let j = 0; j < width; j++) log[j + width] = (log[j] as number) ^ (CANTOR_BASIS[bit] as number);
  }
  for (let i = 0; i < ORDER; i++) log[i] = lfsrLog[log[i] as number] as number;
  const exp = new Uint8Array(ORDER);
  for (let i = 0; i < ORDER; i++) exp[log[i] as number] = i;
  exp[MODULUS] = exp[0] as number;
  const mulLog = (a: number, logB: number): number => (a === 0 ? 0 : (exp[addMod(log[a] as number, logB)] as number));
  const mulTable = new Uint8Array(ORDER * ORDER);
  for (let l = 0; l < ORDER; l++) for (let y = 1; y < ORDER; y++) mulTable[l * ORDER + y] = mulLog(y, l);
  return { log, exp, skew: buildSkew(log, mulLog), mulTable };
}

// The twist factors of the additive FFT for the subspace polynomials of the Cantor basis {2}.
function buildSkew(log: Uint8Array, mulLog: (a: number, logB: number) => number): Uint8Array {
  const temp: number[] = [];
  for (let i = 1; i < 8; i++) temp.push(1 << i);
  const skew = new Uint8Array(MODULUS);
  for (let m = 0; m < 7; m++) {
    const step = 1 << (m + 1);
    skew[(1 << m) - 1] = 0;
    for (let i = m; i < 7; i++) {
      const s = 1 << (i + 1);
      for (let j = (1 << m) - 1; j < s; j += step) skew[j + s] = (skew[j] as number) ^ (temp[i] as number);
    }
    const tm = temp[m] as number;
    temp[m] = (MODULUS - (log[mulLog(tm, log[tm ^ 1] as number)] as number)) & 0xff;
    for (let i = m + 1; i < 7; i++) {
      const ti = temp[i] as number;
      temp[i] = mulLog(ti, addMod(log[ti ^ 1] as number, temp[m] as number));
    }
  }
  for (let i = 0; i < MODULUS; i++) skew[i] = log[skew[i] as number] as number;
  return skew;
}

let field: Field | undefined;
function getField(): Field {
  field ??= buildField();
  return field;
}

/** The product of two field elements (Leopard's representation). */
export function gfMul(a: number, b: number): number {
  const f = getField();
  if (a === 0 || b === 0) return 0;
  return f.exp[addMod(f.log[a] as number, f.log[b] as number)] as number;
}

function gfInverse(a: number): number {
  const f = getField();
  if (a === 0) throw new RangeError("gfInverse: zero has no inverse");
  return f.exp[(MODULUS - (f.log[a] as number)) % MODULUS] as number;
}

/** x[] ^= y[] · c, for a field constant c. */
function mulAdd(x: Uint8Array, y: Uint8Array, c: number): void {
  if (c === 0) return;
  const f = getField();
  const row = f.mulTable.subarray((f.log[c] as number) * ORDER, (f.log[c] as number) * ORDER + ORDER);
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) ^ (row[y[i] as number] as number);
}

function xorInto(x: Uint8Array, y: Uint8Array): void {
  // Four bytes at a time where both views allow it: XOR dominates the encoder's work.
  let i = 0;
  if (x.byteOffset % 4 === 0 && y.byteOffset % 4 === 0) {
    const words = x.length >> 2;
    const xw = new Uint32Array(x.buffer, x.byteOffset, words);
    const yw = new Uint32Array(y.buffer, y.byteOffset, words);
    for (let w = 0; w < words; w++) xw[w] = (xw[w] as number) ^ (yw[w] as number);
    i = words << 2;
  }
  for (; i < x.length; i++) x[i] = (x[i] as number) ^ (y[i] as number);
}

/** x[] ^= y[] · exp(logM), with logM = MODULUS meaning no multiply. */
function mulAddLog(x: Uint8Array, y: Uint8Array, logM: number): void {
  const row = getField().mulTable.subarray(logM * ORDER, logM * ORDER + ORDER);
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) ^ (row[y[i] as number] as number);
}

// Inverse additive FFT, decimation in time, over m shards; twist factors read at skew[base + r + d].
function ifft(work: Uint8Array[], m: number, base: number): void {
  const skew = getField().skew;
  for (let d = 1; d < m; d <<= 1) {
    for (let r = 0; r < m; r += 2 * d) {
      const logM = skew[base + r + d] as number;
      for (let i = r; i < r + d; i++) {
        const x = work[i] as Uint8Array;
        const y = work[i + d] as Uint8Array;
        xorInto(y, x);
        if (logM !== MODULUS) mulAddLog(x, y, logM);
      }
    }
  }
}

function fft(work: Uint8Array[], m: number, base: number): void {
  const skew = getField().skew;
  for (let d = m >> 1; d >= 1; d >>= 1) {
    for (let r = 0; r < m; r += 2 * d) {
      const logM = skew[base + r + d] as number;
      for (let i = r; i < r + d; i++) {
        const x = work[i] as Uint8Array;
        const y = work[i + d] as Uint8Array;
        if (logM !== MODULUS) mulAddLog(x, y, logM);
        xorInto(y, x);
      }
    }
  }
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** Whether Leopard encodes a set of this shape in its 8-bit field (else it uses the 16-bit one). */
export function fitsLeopard8(dataCount: number, parityCount: number): boolean {
  if (!Number.isInteger(dataCount) || !Number.isInteger(parityCount)) return false;
  if (dataCount < 1 || parityCount < 1 || parityCount > dataCount) return false;
  if (dataCount === 1 || parityCount === 1) return dataCount + parityCount <= LEOPARD8_MAX_SHARDS;
  return nextPow2(nextPow2(parityCount) + dataCount) <= ORDER;
}

function checkShape(dataCount: number, parityCount: number, where: string): void {
  if (!fitsLeopard8(dataCount, parityCount)) {
    throw new RangeError(
      `${where}: ${dataCount} data + ${parityCount} parity shards is outside Leopard's 8-bit field ` +
        "(need 1 ≤ parity ≤ data and NextPow2(NextPow2(parity) + data) ≤ 256)",
    );
  }
}

function checkLengths(shards: readonly (Uint8Array | undefined)[], length: number, where: string): void {
  shards.forEach((s, i) => {
    if (s !== undefined && s.length !== length) {
      throw new RangeError(`${where}: shard ${i} is ${s.length} bytes, expected ${length} (all shards are one length)`);
    }
  });
}

/**
 * Parity shards for equal-length data shards, identical to Leopard-RS's `leo_encode` output for the same
 * inputs (Leopard itself also requires the length to be a multiple of 64; this code does not).
 */
export function leopard8Encode(data: readonly Uint8Array[], parityCount: number): Uint8Array[] {
  checkShape(data.length, parityCount, "leopard8Encode");
  const length = (data[0] as Uint8Array).length;
  checkLengths(data, length, "leopard8Encode");
  if (data.length === 1) return [Uint8Array.from(data[0] as Uint8Array)];
  if (parityCount === 1) {
    const sum = Uint8Array.from(data[0] as Uint8Array);
    for (let i = 1; i < data.length; i++) xorInto(sum, data[i] as Uint8Array);
    return [sum];
  }
  const m = nextPow2(parityCount);
  const work = Array.from({ length: m }, () => new Uint8Array(length));
  for (let first = 0; first < data.length; first += m) {
    const chunk = Array.from({ length: m }, (_, i) => {
      const shard = data[first + i];
      return shard === undefined ? new Uint8Array(length) : Uint8Array.from(shard);
    });
    ifft(chunk, m, m - 1 + first);
    for (let i = 0; i < m; i++) xorInto(work[i] as Uint8Array, chunk[i] as Uint8Array);
  }
  fft(work, m, -1);
  return work.slice(0, parityCount);
}

const generatorCache = new Map<string, readonly Uint8Array[]>();

/** The parity rows of the generator matrix: row p, column i is parity p's coefficient of data shard i. */
function generator(dataCount: number, parityCount: number): readonly Uint8Array[] {
  const key = `${dataCount}/${parityCount}`;
  const cached = generatorCache.get(key);
  if (cached !== undefined) return cached;
  const rows = Array.from({ length: parityCount }, () => new Uint8Array(dataCount));
  for (let i = 0; i < dataCount; i++) {
    const unit = Array.from({ length: dataCount }, (_, j) => Uint8Array.of(j === i ? 1 : 0));
    leopard8Encode(unit, parityCount).forEach((p, row) => {
      (rows[row] as Uint8Array)[i] = p[0] as number;
    });
  }
  if (generatorCache.size >= 64) generatorCache.clear();
  generatorCache.set(key, rows);
  return rows;
}

function swap(rows: Uint8Array[], i: number, j: number): void {
  const t = rows[i] as Uint8Array;
  rows[i] = rows[j] as Uint8Array;
  rows[j] = t;
}

// Gauss–Jordan inversion of a small square matrix over the field; undefined when singular.
function invert(matrix: readonly Uint8Array[]): Uint8Array[] | undefined {
  const n = matrix.length;
  const a: Uint8Array[] = matrix.map((row) => Uint8Array.from(row));
  const inv: Uint8Array[] = Array.from({ length: n }, (_, i) =>
    Uint8Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  );
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && (a[pivot] as Uint8Array)[col] === 0) pivot++;
    if (pivot === n) return undefined;
    swap(a, col, pivot);
    swap(inv, col, pivot);
    const scale = gfInverse((a[col] as Uint8Array)[col] as number);
    for (const m of [a, inv]) {
      const row = m[col] as Uint8Array;
      for (let j = 0; j < n; j++) row[j] = gfMul(row[j] as number, scale);
    }
    for (let r = 0; r < n; r++) {
      const factor = (a[r] as Uint8Array)[col] as number;
      if (r === col || factor === 0) continue;
      for (const m of [a, inv]) {
        const target = m[r] as Uint8Array;
        const source = m[col] as Uint8Array;
        for (let j = 0; j < n; j++) target[j] = (target[j] as number) ^ gfMul(source[j] as number, factor);
      }
    }
  }
  return inv;
}

/**
 * Every data shard, given the shards held (undefined where missing). Throws a RangeError when fewer than
 * `data.length` shards are held in all, or when shard lengths differ.
 */
export function leopard8Decode(
  data: readonly (Uint8Array | undefined)[],
  parity: readonly (Uint8Array | undefined)[],
): Uint8Array[] {
  checkShape(data.length, parity.length, "leopard8Decode");
  const held = [...data, ...parity].find((s) => s !== undefined);
  if (held === undefined) throw new RangeError("leopard8Decode: no shards held");
  checkLengths(data, held.length, "leopard8Decode");
  checkLengths(parity, held.length, "leopard8Decode");
  const missing = data.flatMap((s, i) => (s === undefined ? [i] : []));
  if (missing.length === 0) return data as Uint8Array[];
  const usable = parity.flatMap((s, i) => (s === undefined ? [] : [i])).slice(0, missing.length);
  if (usable.length < missing.length) {
    throw new RangeError(
      `leopard8Decode: ${missing.length} data shards missing but only ${usable.length} parity shards held`,
    );
  }
  const g = generator(data.length, parity.length);
  // Syndromes: each chosen parity shard minus the contribution of the data shards held.
  const syndromes = usable.map((p) => {
    const s = Uint8Array.from(parity[p] as Uint8Array);
    data.forEach((d, i) => {
      if (d !== undefined) mulAdd(s, d, (g[p] as Uint8Array)[i] as number);
    });
    return s;
  });
  const sub = usable.map((p) => Uint8Array.from(missing, (i) => (g[p] as Uint8Array)[i] as number));
  const inv = invert(sub);
  if (inv === undefined) throw new RangeError("leopard8Decode: singular parity submatrix (not an MDS set)");
  const out = data.slice() as (Uint8Array | undefined)[];
  missing.forEach((i, row) => {
    const shard = new Uint8Array(held.length);
    syndromes.forEach((s, col) => {
      mulAdd(shard, s, (inv[row] as Uint8Array)[col] as number);
    });
    out[i] = shard;
  });
  return out as Uint8Array[];
}
