import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BackendProvider, registerBackend } from '@conv2d/core';
import { registerStandardBackends } from '../standard.js';
import { backendsCommand } from './backends.js';
import { conformanceCommand } from './conformance.js';

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  backends: backendsCommand,
  conformance: conformanceCommand,
};

const USAGE = `usage: conv2d <command> [options] [--import <module>]...

  conv2d backends [--json]
      every backend spec, whether it runs here and why not, its capabilities, and the one
      selected here
  conv2d conformance --backend <spec|all> --fixtures <dir> [--dump <dir>] [--api call|plan]
                     [--browser]
      runs conformance fixtures on a backend (needs @conv2d/conformance); --browser runs them
      in headless Chromium with WebGL and WebGPU on SwiftShader (from the conv2d repository)

  --import <module>  loads a module first (a path or a package name): it registers a backend,
                     or exports \`backendProvider\`, which is registered (check your own engine)`;

/** Takes every `--import <module>` out of argv; returns the modules and the rest. */
function splitImports(argv: string[]): { modules: string[]; rest: string[] } {
  const modules: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--import' && argv[i + 1] !== undefined) modules.push(argv[++i] as string);
    else rest.push(argv[i] as string);
  }
  return { modules, rest };
}

async function importModule(name: string): Promise<void> {
  const local = name.startsWith('.') || isAbsolute(name);
  const m = (await import(local ? pathToFileURL(resolve(name)).href : name)) as {
    backendProvider?: BackendProvider;
  };
  if (m.backendProvider) registerBackend(m.backendProvider);
}

async function main(): Promise<number> {
  const [name, ...argv] = process.argv.slice(2);
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.error(USAGE);
    return 2;
  }
  const { modules, rest } = splitImports(argv);
  registerStandardBackends();
  for (const name of modules) await importModule(name);
  return command(rest);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
