import { availableParallelism, cpus, platform, release, totalmem } from 'node:os';
import { gemmKernel } from '@conv2d/gemm';
import type { Machine } from './results.js';

export function describeMachine(command: string, quick: boolean): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    v8: process.versions.v8,
    platform: `${platform()} ${release()} ${process.arch}`,
    // the engines' processes inherit the environment (CONV2D_RELAXED_SIMD), so they pick the same
    gemm: gemmKernel(),
    date: new Date().toISOString(),
    command,
    quick,
  };
}
