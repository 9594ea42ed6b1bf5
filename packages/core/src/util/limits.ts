/** The input limits in one place: defaults, their environment overrides, and the note an error cites. */
import { UserError } from '../errors.js';

export interface Limits {
  /** Widest or tallest image accepted, in pixels (checked from the PNG/JPEG header before decoding). */
  imageSide: number;
  /** Most pixels (width × height) in one image; decoded as RGBA that is 4 bytes each. */
  imagePixels: number;
  /** Largest file read whole (an image, a model's weights, a run folder's JSON). */
  fileBytes: number;
  /** Longest CSV line, and so longest field (a quoted field spanning lines counts whole). */
  csvLineBytes: number;
  /** Largest JSON-RPC message the server reads (header and body): a Content-Length is otherwise buffered as claimed. */
  messageBytes: number;
}

/** Each limit, its environment variable and default. Defaults fit a phone photo and Kaggle's rows with room. */
export const LIMITS = {
  imageSide: { env: 'KEYPOINTS_MAX_IMAGE_SIDE', default: 16384, unit: 'pixels' },
  imagePixels: { env: 'KEYPOINTS_MAX_IMAGE_PIXELS', default: 100_000_000, unit: 'pixels' },
  fileBytes: { env: 'KEYPOINTS_MAX_FILE_BYTES', default: 1 << 30, unit: 'bytes' },
  csvLineBytes: { env: 'KEYPOINTS_MAX_CSV_LINE_BYTES', default: 16 << 20, unit: 'bytes' },
  messageBytes: { env: 'KEYPOINTS_MAX_MESSAGE_BYTES', default: 16 << 20, unit: 'bytes' },
} as const satisfies Record<keyof Limits, { env: string; default: number; unit: string }>;

/** The limits in force, read from the environment at each call (a server picks up no change without restart, tests may set them). */
export function limits(env: NodeJS.ProcessEnv = process.env): Limits {
  const out = {} as Limits;
  for (const key of Object.keys(LIMITS) as Array<keyof Limits>) {
    const { env: name, default: def } = LIMITS[key];
    const raw = env[name];
    if (raw === undefined || raw === '') {
      out[key] = def;
      continue;
    }
    const v = Number(raw);
    if (!Number.isInteger(v) || v <= 0) throw new UserError(`${name}=${JSON.stringify(raw.slice(0, 40))}: expected a whole number above 0 (default ${def})`);
    out[key] = v;
  }
  return out;
}

/** "the limit is 16 MiB; set KEYPOINTS_MAX_CSV_LINE_BYTES to raise it": every limit error says how to lift it. */
export function limitNote(key: keyof Limits, value: number): string {
  return `the limit is ${formatAmount(value, LIMITS[key].unit)}; set ${LIMITS[key].env} to raise it`;
}

export function formatAmount(n: number, unit: string): string {
  if (unit !== 'bytes') return `${n.toLocaleString('en-US')} ${unit}`;
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20) return `${+(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${+(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} bytes`;
}
