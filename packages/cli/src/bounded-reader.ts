/** The server's message reader: vscode-jsonrpc's, bounded in what it buffers. */
import { StreamMessageReader } from 'vscode-jsonrpc/node.js';
import { formatAmount, limitNote } from '@keypoints/core';

/** What the reader keeps between chunks (vscode-jsonrpc's own fields; checked by the server's tests). */
interface ReaderState {
  onData(data: Uint8Array | string): void;
  fireError(err: unknown): void;
  nextMessageLength: number;
  buffer: { _totalLength: number };
}

/**
 * vscode-jsonrpc waits for as many bytes as a Content-Length claims and for a header's end however
 * long it takes: a wrong length or noise on stdin would be buffered without bound. Past `maxBytes`
 * (a claimed body, or bytes held without a complete message) it reports a framing error and reads
 * nothing more; the server answers it and exits. After any error it stops reading too (`stop`).
 */
export function boundedReader(input: NodeJS.ReadableStream, maxBytes: number): { reader: StreamMessageReader; stop: () => void } {
  const reader = new StreamMessageReader(input);
  const state = reader as unknown as ReaderState;
  const onData = state.onData.bind(reader);
  let stopped = false;
  state.onData = (data) => {
    if (stopped) return;
    onData(data);
    const claimed = state.nextMessageLength, held = state.buffer._totalLength;
    if (claimed > maxBytes || claimed < -1 || held > maxBytes + 8192) {
      stopped = true;
      const what = claimed > maxBytes ? `a Content-Length of ${claimed} bytes` : claimed < -1 ? `a negative Content-Length (${claimed})` : `${formatAmount(held, 'bytes')} without a complete message`;
      state.fireError(new Error(`${what}: over the message size limit (${limitNote('messageBytes', maxBytes)})`));
    }
  };
  return { reader, stop: () => void (stopped = true) };
}
