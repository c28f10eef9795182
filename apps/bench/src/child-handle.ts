import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command, Reply } from './protocol.js';

/** Thrown when a command outlives its time cap; the child has been killed. */
export class TimeoutError extends Error {
  constructor(
    readonly op: string,
    readonly capMs: number,
  ) {
    super(`${op} took more than ${capMs / 1000} s`);
  }
}

/** The parent's end of a bench child: one command at a time, each with an optional cap. */
export class ChildHandle {
  private readonly proc: ChildProcess;
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private exited: string | null = null;

  constructor(script = fileURLToPath(new URL('./child.js', import.meta.url))) {
    // 'advanced' serialization sends Float32Arrays as such (structured clone), not as JSON
    this.proc = fork(script, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m: Reply) => {
      const p = this.pending;
      this.pending = null;
      p?.resolve(m);
    });
    // a failed send (the child died) reaches the pending command through 'exit'
    this.proc.on('error', () => undefined);
    this.proc.on('exit', (code, signal) => {
      this.exited ??= `child exited (${signal ?? `code ${code}`})`;
      const p = this.pending;
      this.pending = null;
      p?.reject(new Error(this.exited));
    });
  }

  get alive(): boolean {
    return this.exited === null;
  }

  /** Sends a command; rejects with TimeoutError (killing the child) after `capMs`. */
  send(command: Command, capMs = 0): Promise<Reply> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    if (this.pending) return Promise.reject(new Error('bench child busy'));
    return new Promise<Reply>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      if (capMs > 0) {
        timer = setTimeout(() => {
          this.pending = null;
          this.kill();
          reject(new TimeoutError(command.op, capMs));
        }, capMs);
      }
      const done = () => {
        if (timer) clearTimeout(timer);
      };
      this.pending = {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      this.proc.send(command, (err) => {
        if (err && this.pending) {
          const p = this.pending;
          this.pending = null;
          p.reject(err);
        }
      });
    });
  }

  /** Kills the child now; it counts as gone at once, before its exit event. */
  kill(): void {
    if (this.exited !== null) return;
    this.exited = 'child killed';
    this.proc.kill('SIGKILL');
  }

  /** Ends the child and waits for it to go. */
  close(): Promise<void> {
    if (this.exited || this.proc.exitCode !== null || this.proc.signalCode !== null) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.proc.once('exit', () => resolve());
      this.proc.kill('SIGTERM');
    });
  }
}
