import type { ProgressEvent } from './runner.js';

/**
 * A progress bar redrawn in place on a terminal; one plain line per finished cell otherwise
 * (CI logs), so nothing is lost when output is piped.
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): {
  update: (e: ProgressEvent) => void;
  end: () => void;
} {
  const tty = stream.isTTY === true;
  const started = Date.now();
  let drawn = false;
  return {
    update(e) {
      const secs = ((Date.now() - started) / 1000).toFixed(0);
      if (tty) {
        const filled = Math.round((e.done / Math.max(1, e.total)) * 28);
        const bar = `${'#'.repeat(filled)}${'.'.repeat(28 - filled)}`;
        const text = `[${bar}] ${e.done}/${e.total} ${secs}s ${e.label}`;
        // columns is 0 or undefined on some pseudo-terminals
        const width = (stream.columns || 100) - 1;
        stream.write(`\r${text.slice(0, width).padEnd(width)}`);
        drawn = true;
        return;
      }
      const r = e.row;
      const what = r
        ? r.status === 'ok'
          ? `${(r.medianMs as number).toFixed(2)} ms ${(r.gflops as number).toFixed(2)} GFLOP/s`
          : `${r.status}: ${r.reason ?? ''}`
        : '';
      stream.write(`[${e.done}/${e.total} ${secs}s] ${e.label}${what ? `  ${what}` : ''}\n`);
    },
    end() {
      if (tty && drawn) stream.write('\n');
    },
  };
}
