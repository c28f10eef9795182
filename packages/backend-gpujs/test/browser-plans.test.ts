import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The browser's gpu.js modes, which Node cannot run (webgpu, webgl2, webgl), in headless Chromium
 * on SwiftShader (scripts/browser-plans): random convolutions against the float64 oracle through
 * one-shot calls and plans, in webgpu with both the tiled (WGSL) and the block kernels; plans
 * against one-shot calls bit for bit, resident chains without a readback; every PyTorch fixture
 * through a plan; no texture or buffer left. Needs Debian's chromium (installed by
 * .ci/install-system.sh) and the built dist of this package, conformance and backend-naive.
 */
const script = fileURLToPath(new URL('../scripts/browser-plans/run.mjs', import.meta.url));
const MODES = ['webgpu tiled', 'webgpu block', 'webgl2', 'webgl'];
const CHECKS = [
  'random convolutions against the float64 oracle',
  'stride [2, 1]',
  'NHWC grouped, dilated',
  'its own output as input',
  'fixtures through plans',
];

describe('gpu.js in headless Chromium (webgpu, webgl2, webgl)', () => {
  it('passes every check in every mode and kernel family', async () => {
    const run = await promisify(execFile)('node', [script, 'webgpu,webgl2,webgl'], {
      timeout: 540_000,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => ({
      stdout: `${e.stdout ?? ''}${e.stderr ?? ''}\n${e.message}`,
    }));
    const lines = run.stdout.split('\n');
    for (const mode of MODES) {
      for (const check of CHECKS) {
        const line = lines.find((l) => l.startsWith(`${mode} `) && l.includes(check));
        expect(line, `no "${mode} … ${check}" line in:\n${run.stdout}`).toBeDefined();
        expect(line).toMatch(/: ok$/);
      }
    }
    const reports = lines.filter((l) => MODES.some((m) => l.startsWith(`${m} `)));
    expect(reports.filter((l) => !l.endsWith(': ok'))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('page error'))).toEqual([]);
  }, 600_000);
});
