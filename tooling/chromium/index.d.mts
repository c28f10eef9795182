import type { Browser, Page } from 'playwright-core';

export type { Browser, Page };

export declare const CHROMIUM_PATH: string;
export declare const CHROMIUM_ARGS: readonly string[];
export declare function launchChromium(): Promise<Browser>;

export interface ServeOptions {
  /** The folder holding the page's index.html. */
  root: string;
  /** Vite's cache folder (somewhere under node_modules). */
  cacheDir?: string;
  /** Folders the page may load from besides root. */
  allow?: string[];
  alias?: Record<string, string>;
  /** Dependencies to pre-bundle before the page loads (CommonJS ones). */
  optimize?: string[];
}

export declare function servePage(options: ServeOptions): Promise<{
  url: string;
  close(): Promise<void>;
}>;

export declare function withPage<T>(
  serve: ServeOptions,
  path: string,
  use: (page: Page, pageErrors: string[]) => Promise<T>,
): Promise<T>;

/** `promise`, or a rejection naming `what` after `ms` milliseconds. */
export declare function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T>;
