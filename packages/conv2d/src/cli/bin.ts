import { registerStandardBackends } from 'conv2d';
import { backendsCommand } from './backends.js';
import { conformanceCommand } from './conformance.js';

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  backends: backendsCommand,
  conformance: conformanceCommand,
};

async function main(): Promise<number> {
  const [name, ...argv] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) {
    console.error(`usage: conv2d <${Object.keys(commands).join('|')}> [options]`);
    return 2;
  }
  registerStandardBackends();
  return command(argv);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  },
);
