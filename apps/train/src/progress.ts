/**
 * A progress bar per epoch redrawn in place on a terminal; nothing between epochs otherwise
 * (CI logs keep the per-epoch lines only).
 */
export function stepProgress(stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  return {
    update(p: { epoch: number; step: number; steps: number; loss: number }): void {
      if (!tty) return;
      const width = 30;
      const filled = Math.round((p.step / p.steps) * width);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
      stream.write(`\repoch ${p.epoch} [${bar}] ${p.step}/${p.steps} loss ${p.loss.toFixed(4)}`);
    },
    clear(): void {
      if (tty) stream.write('\r\x1b[2K');
    },
  };
}
