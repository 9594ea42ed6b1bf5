// Runs seeded JSON-RPC framing cases [from, from + count) against the server in this process and
// reports each to the parent (test/fuzz-framing.test.ts), which enforces time and memory.
import { PassThrough } from 'node:stream';
import { createRng, type Rng } from '../packages/core/src/util/random.ts';
import { startServer } from '../packages/cli/src/server.ts';

export interface FramingReport {
  i: number;
  parts: string[];
  reason: 'closed' | 'framing';
  problems: string[];
  /** Growth of array-buffer memory while the case's bytes were being read (the server's buffer). */
  heldMb: number;
  ms: number;
}

const pick = <T>(rng: Rng, a: readonly T[]): T => a[rng.int(a.length)]!;
const frame = (body: Buffer | string, header?: string) => {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([Buffer.from(`${header ?? `Content-Length: ${b.length}`}\r\n\r\n`), b]);
};
const request = (id: number, method: string, params: unknown = {}) => JSON.stringify({ jsonrpc: '2.0', id, method, params });

/** Messages that leave the framing intact; `id` set when an answer with that id must come. */
const GOOD: Array<(rng: Rng, id: number) => { name: string; bytes: Buffer; id?: number }> = [
  (_, id) => ({ name: 'request', bytes: frame(request(id, 'train/status')), id }),
  (_, id) => ({ name: 'runs/list', bytes: frame(request(id, 'runs/list', { folder: '/nonexistent/kp' })), id }),
  (_, id) => ({ name: 'unknown method', bytes: frame(request(id, 'no/such')), id }),
  (_, id) => ({ name: 'bad params', bytes: frame(request(id, 'dataset/info', { path: 7 })), id }),
  (_, id) => ({ name: 'content-type header', bytes: frame(request(id, 'train/status'), `Content-Length: ${Buffer.byteLength(request(id, 'train/status'))}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8`), id }),
  () => ({ name: 'notification', bytes: frame(JSON.stringify({ jsonrpc: '2.0', method: '$/setTrace', params: { value: 'off' } })) }),
  (rng) => ({ name: 'not JSON', bytes: frame(pick(rng, ['{"jsonrpc":', '{{', 'nul', '"\\u12"', ''])) }),
  () => ({ name: 'batch', bytes: frame('[{"jsonrpc":"2.0","id":1,"method":"train/status"}]') }),
  (rng) => ({ name: 'scalar', bytes: frame(pick(rng, ['42', 'null', '"x"', 'true'])) }),
  (_, id) => ({ name: 'non-UTF-8 in a string', bytes: frame(Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"train/status","params":{},"x":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')])), id }),
  (rng) => ({ name: 'non-UTF-8 body', bytes: frame(Buffer.from(Array.from({ length: 1 + rng.int(64) }, () => 0x80 + rng.int(128)))) }),
];

/** Faults after which the stream cannot be read on: the server must answer -32700 and end, or end when stdin does. */
const BROKEN: Array<(rng: Rng) => { name: string; bytes: Buffer; size?: number }> = [
  () => ({ name: 'no Content-Length', bytes: frame(request(90, 'train/status'), 'Content-Type: application/json') }),
  (rng) => ({ name: 'non-numeric Content-Length', bytes: frame(request(90, 'train/status'), `Content-Length: ${pick(rng, ['lots', '', 'NaN', '0x1g', '\x1b]0;pwned\x07'])}`) }),
  (rng) => ({ name: 'negative Content-Length', bytes: frame(request(90, 'train/status'), `Content-Length: -${1 + rng.int(100)}`) }),
  (rng) => ({ name: 'too-small Content-Length', bytes: frame(request(90, 'train/status'), `Content-Length: ${1 + rng.int(20)}`) }),
  (rng) => ({ name: 'too-large Content-Length', bytes: frame(request(90, 'train/status'), `Content-Length: ${80 + rng.int(200)}`) }),
  (rng) => ({ name: 'huge Content-Length', bytes: frame('', `Content-Length: ${pick(rng, ['1000000000000', '99999999999999999999', String(2 ** 31)])}`), size: pick(rng, [0, 4 << 20, 32 << 20]) }),
  () => ({ name: 'endless header', bytes: Buffer.from('X-Noise: ' + 'a'.repeat(1000)), size: 8 << 20 }),
  (rng) => ({ name: 'truncated body', bytes: frame(request(90, 'train/status')).subarray(0, 30 + rng.int(20)) }),
  (rng) => ({ name: 'garbage', bytes: Buffer.from(Array.from({ length: 1 + rng.int(400) }, () => rng.int(256))) }),
  () => ({ name: 'header without colon', bytes: frame(request(90, 'train/status'), 'Content-Length 50') }),
];

/** The server's stdout, read strictly: each frame a Content-Length header and a JSON-RPC 2.0 object. */
function parseOutput(out: Buffer, problems: string[]): Array<{ id?: unknown; error?: { code: number; message: string }; method?: string }> {
  const msgs = [];
  let at = 0;
  while (at < out.length) {
    const end = out.indexOf('\r\n\r\n', at);
    const m = end < 0 ? null : /^Content-Length: (\d+)$/.exec(out.toString('latin1', at, end));
    if (!m) return problems.push(`unframed output at byte ${at}: ${JSON.stringify(out.toString('utf8', at, at + 60))}`), msgs;
    const body = out.subarray(end + 4, end + 4 + Number(m[1]));
    at = end + 4 + Number(m[1]);
    try {
      const msg = JSON.parse(body.toString('utf8'));
      if (msg.jsonrpc !== '2.0') problems.push(`not JSON-RPC 2.0: ${body.toString().slice(0, 80)}`);
      msgs.push(msg);
    } catch {
      problems.push(`a reply that is not JSON: ${body.toString().slice(0, 80)}`);
    }
  }
  return msgs;
}

async function runCase(seed: number, i: number): Promise<FramingReport> {
  const rng = createRng(seed * 100_003 + i);
  const t0 = performance.now();
  const parts: Array<{ name: string; bytes: Buffer; id?: number; size?: number }> = [];
  for (let n = rng.int(6), id = 1; n >= 0; n--, id++) parts.push(pick(rng, GOOD)(rng, id));
  const broken = rng.int(3) > 0 ? pick(rng, BROKEN)(rng) : undefined;
  if (broken) parts.splice(rng.int(parts.length + 1), 0, broken);
  // Only answers to requests before the fault are owed; the rest may never be read.
  const cut = broken ? parts.indexOf(broken) : parts.length;
  const owed = parts.slice(0, cut).flatMap((p) => (p.id === undefined ? [] : [p.id]));
  const bytes = Buffer.concat(parts.map((p) => p.bytes));
  // Split anywhere: one chunk, a few, or byte by byte for short streams.
  const cuts = bytes.length < 600 && rng.int(4) === 0 ? Array.from({ length: bytes.length - 1 }, (_, k) => k + 1) : Array.from({ length: rng.int(6) }, () => rng.int(bytes.length + 1)).sort((a, b) => a - b);
  const chunks = [0, ...cuts, bytes.length].slice(1).map((e, k, a) => bytes.subarray(k ? a[k - 1]! : 0, e));
  const input = new PassThrough(), output = new PassThrough();
  const outChunks: Buffer[] = [];
  output.on('data', (d: Buffer) => outChunks.push(d));
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  const before = process.memoryUsage().arrayBuffers;
  let heldMb = 0, reason: FramingReport['reason'];
  try {
    const { finished } = startServer(input, output);
    for (const c of chunks) {
      input.write(c);
      if (rng.int(2)) await new Promise((r) => setImmediate(r));
    }
    // Streamed after a claim or a header: what a wrong length or noise would make a server hold.
    const filler = Buffer.alloc(1 << 16, 0x61);
    for (let sent = 0; sent < (broken?.size ?? 0); sent += filler.length) {
      input.write(filler);
      if ((sent & 0xfffff) === 0) await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    heldMb = (process.memoryUsage().arrayBuffers - before) / 2 ** 20;
    input.end();
    reason = (await finished).reason;
    await new Promise((r) => setTimeout(r, 5));
  } finally {
    process.stderr.write = write;
  }
  const problems: string[] = [];
  const msgs = parseOutput(Buffer.concat(outChunks), problems);
  for (const id of owed) if (!msgs.some((m) => m.id === id)) problems.push(`request ${id} before the fault got no answer`);
  if (!broken && reason !== 'closed') problems.push(`ended by "${reason}" with intact framing`);
  if (reason === 'framing') {
    if (!msgs.some((m) => m.id === null && m.error?.code === -32700 && /^broken message framing/.test(m.error.message))) problems.push('a framing end without a -32700 reply');
    if (!/broken message framing/.test(stderr)) problems.push('a framing end not logged');
  }
  if (msgs.some((m) => m.error?.code === 1099)) problems.push(`an internal error: ${JSON.stringify(msgs.find((m) => m.error?.code === 1099))}`);
  if (/\n\s+at /.test(stderr) || /internal error/.test(stderr)) problems.push(`a stack trace in the log: ${stderr.slice(0, 300)}`);
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(stderr)) problems.push(`control bytes in the log: ${JSON.stringify(stderr.slice(0, 200))}`);
  return { i, parts: parts.map((p) => p.name), reason, problems, heldMb, ms: performance.now() - t0 };
}

const [seed, from, count] = process.argv.slice(2).map(Number) as [number, number, number];
const send = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
for (let i = from; i < from + count; i++) {
  await send({ type: 'start', i });
  await send({ type: 'end', report: await runCase(seed, i) });
}
await send({ type: 'done', maxRssMb: process.resourceUsage().maxRSS / 1024 });
process.exit(0);
