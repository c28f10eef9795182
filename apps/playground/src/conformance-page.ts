import { parseFixture, runFixture } from '@conv2d/conformance/runner';
import { type BrowserBackend, browserBackends } from './backends.js';

/*
 * Runs every PyTorch fixture on every backend that works in this browser and publishes the
 * results as `window.__results` (read by test-browser/conformance.test.ts) and as a table.
 * `?run=<spec>,...` runs only those specs and lists the others as `not run` (the browser test
 * runs the oracle; `pnpm conformance --browser` runs every fixture on every spec in CI).
 */

export interface BackendReport {
  spec: string;
  /** 'ran', 'not run' (left out by `?run=`), or why the backend cannot run here. */
  status: 'ran' | 'not run' | `unavailable: ${string}`;
  cases: { name: string; passed: boolean; message: string }[];
  ms: number;
}

export interface ConformanceResults {
  done: boolean;
  /** What this browser offers, for reading failures: WebGL versions, isolation, agent. */
  environment: { userAgent: string; webgl: string; webgl2: string; crossOriginIsolated: boolean };
  fixtureCount: number;
  backends: BackendReport[];
  error?: string;
}

declare global {
  interface Window {
    __results?: ConformanceResults;
  }
}

const modules = import.meta.glob('../../../packages/conformance/fixtures/*.json', {
  eager: true,
  import: 'default',
});
const fixtures = Object.entries(modules)
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([path, json]) => parseFixture(json, path.slice(path.lastIndexOf('/') + 1)));

function glInfo(kind: 'webgl' | 'webgl2'): string {
  const gl = document.createElement('canvas').getContext(kind) as WebGLRenderingContext | null;
  if (!gl) return 'none';
  const floats = kind === 'webgl2' ? 'EXT_color_buffer_float' : 'OES_texture_float';
  return `${gl.getParameter(gl.VERSION)}, max texture ${gl.getParameter(gl.MAX_TEXTURE_SIZE)}, ${floats} ${gl.getExtension(floats) ? 'yes' : 'no'}`;
}

async function runBackend(
  b: BrowserBackend,
  wanted: (spec: string) => boolean,
): Promise<BackendReport> {
  if (b.unavailable !== null) {
    return { spec: b.spec, status: `unavailable: ${b.unavailable}`, cases: [], ms: 0 };
  }
  if (!wanted(b.spec)) return { spec: b.spec, status: 'not run', cases: [], ms: 0 };
  const start = performance.now();
  let backend: Awaited<ReturnType<BrowserBackend['create']>>;
  try {
    backend = await b.create();
  } catch (e) {
    return { spec: b.spec, status: `unavailable: create failed: ${String(e)}`, cases: [], ms: 0 };
  }
  const cases: BackendReport['cases'] = [];
  try {
    for (const f of fixtures) {
      const r = await runFixture(backend, f);
      cases.push({ name: r.name, passed: r.passed, message: r.message });
    }
  } finally {
    backend.dispose();
  }
  return { spec: b.spec, status: 'ran', cases, ms: performance.now() - start };
}

function render(results: ConformanceResults): void {
  const root = document.getElementById('backends') as HTMLElement;
  root.replaceChildren(
    ...results.backends.map((r) => {
      const section = document.createElement('section');
      const failed = r.cases.filter((c) => !c.passed);
      const h = document.createElement('h2');
      h.textContent =
        r.status === 'ran'
          ? `${r.spec}: ${r.cases.length - failed.length} passed, ${failed.length} failed (${r.ms.toFixed(0)} ms)`
          : `${r.spec}: ${r.status}`;
      h.className = r.status !== 'ran' ? 'skip' : failed.length ? 'bad' : 'good';
      const list = document.createElement('ul');
      for (const c of failed) {
        const li = document.createElement('li');
        li.textContent = `${c.name}: ${c.message}`;
        list.append(li);
      }
      section.append(h, list);
      return section;
    }),
  );
}

async function main(): Promise<void> {
  const results: ConformanceResults = {
    done: false,
    environment: {
      userAgent: navigator.userAgent,
      webgl: glInfo('webgl'),
      webgl2: glInfo('webgl2'),
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    },
    fixtureCount: fixtures.length,
    backends: [],
  };
  window.__results = results;
  const status = document.getElementById('status') as HTMLElement;
  const only = new URLSearchParams(location.search).get('run')?.split(',');
  const wanted = (spec: string) => only?.includes(spec) ?? true;
  try {
    for (const b of await browserBackends()) {
      status.textContent = `running ${b.spec}…`;
      results.backends.push(await runBackend(b, wanted));
      render(results);
    }
    status.textContent = `${fixtures.length} fixtures, ${results.backends.length} backends`;
  } catch (e) {
    results.error = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
    status.textContent = `error: ${results.error}`;
  }
  results.done = true;
}

void main();
