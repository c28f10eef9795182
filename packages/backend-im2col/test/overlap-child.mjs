// Child process of overlap.test.ts. Runs overlapping calls on one 2-thread backend from a
// top-level await, with nothing but the backend's own work keeping the event loop alive: if
// the pool let go of its workers while a call still waited on them, Node would end the
// process (exit code 13, "unsettled top-level await") before every result is printed.
// So nothing else may hold the loop: the input comes from a file (not stdin), and results are
// printed only once both phases are done (pending pipe writes would keep the process alive).
import { readFileSync } from 'node:fs';
import { createIm2colBackend } from '../dist/index.js';

// A fresh Uint8Array copy: a small Buffer may sit at an unaligned offset of a shared pool.
const decode = (s) => new Float32Array(new Uint8Array(Buffer.from(s, 'base64')).buffer);
const tensor = (t) => t && { shape: t.shape, data: decode(t.data) };
const encode = (t) =>
  t && Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64');

const calls = JSON.parse(readFileSync(process.argv[2], 'utf8')).map((c) => ({
  ...c,
  x: tensor(c.x),
  w: tensor(c.w),
  b: tensor(c.b),
  dy: tensor(c.dy),
}));

// Each round is two chances for an early exit (it struck about one run in three with one round).
const rounds = Number(process.argv[3] ?? 1);
const backend = await createIm2colBackend({ threads: 2, minThreadedFlops: 0 });
let ys = [];
let grads = [];
for (let round = 0; round < rounds; round++) {
  ys = await Promise.all(calls.map((c) => backend.forward(c.x, c.w, c.b, c.options)));
  grads = await Promise.all(
    calls.map((c) => backend.backward(c.dy, c.x, c.w, c.options, c.wanted)),
  );
}
for (const [i, y] of ys.entries()) {
  console.log(JSON.stringify({ pass: 'forward', i, y: encode(y) }));
}
for (const [i, { dx, dw, db }] of grads.entries()) {
  console.log(
    JSON.stringify({ pass: 'backward', i, dx: encode(dx), dw: encode(dw), db: encode(db) }),
  );
}
console.log(
  JSON.stringify({ done: calls.length, rounds, threadedJobs: backend.stats.threadedJobs }),
);
