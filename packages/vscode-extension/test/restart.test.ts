// The extension's restart rules for its trainer server (src/restart.ts): no vscode needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answersWithin, RestartPolicy, watchLiveness } from '../src/restart.ts';

test('RestartPolicy: a few restarts per window, then none until the window has passed', () => {
  const p = new RestartPolicy(3, 1000);
  assert.deepEqual([0, 10, 20, 30].map((t) => p.allow(t)), [true, true, true, false]);
  assert.equal(p.allow(1005), true, 'the first restart has left the window');
  assert.equal(p.allow(1006), false);
});

test('answersWithin: an answer (or an error reply) in time is true; silence is false', async () => {
  assert.equal(await answersWithin(() => Promise.resolve(1), 50), true);
  assert.equal(await answersWithin(() => Promise.reject(new Error('busy')), 50), true);
  assert.equal(await answersWithin(() => new Promise(() => {}), 30), false);
});

test('watchLiveness: a server that stops answering is reported once; one that answers never', async () => {
  let deaf = 0, answering = 0;
  const stopA = watchLiveness(() => new Promise(() => {}), () => deaf++, 10, 20);
  const stopB = watchLiveness(() => Promise.resolve(), () => answering++, 10, 20);
  await new Promise((r) => setTimeout(r, 150));
  stopA();
  stopB();
  assert.equal(deaf, 1);
  assert.equal(answering, 0);
});
