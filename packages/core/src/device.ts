import { fail, formatValue } from './errors.js';
import { sizeOf, type Tensor } from './tensor.js';

/**
 * Where an engine keeps tensor data between calls, and how it moves there and back. A GPU
 * engine's handle is a texture or buffer; a CPU engine keeps host arrays (`hostStore`).
 */
export interface TensorStore<H = Float32Array> {
  /** Copies host data into a new handle (the caller may change `data` afterwards). */
  upload(data: Float32Array, shape: readonly number[]): H | Promise<H>;
  /** The handle's data on the host. A CPU store returns its own array (no copy). */
  download(handle: H, size: number): Float32Array | Promise<Float32Array>;
  /** Frees the handle (GPU memory); a CPU store lets the garbage collector do it. */
  release(handle: H): void;
}

/** The store of CPU engines: a device tensor is a private copy of the host array. */
export const hostStore: TensorStore<Float32Array> = Object.freeze({
  upload: (data: Float32Array) => data.slice(),
  download: (handle: Float32Array) => handle,
  release: () => {},
});

/**
 * A tensor kept where its backend computes (GPU memory for gpu.js, a private host array for
 * CPU backends), so a chain of plan calls moves no data until `read()`.
 */
export interface DeviceTensor {
  readonly shape: readonly number[];
  /** The backend spec that owns it; only that backend's plans take it. */
  readonly backend: string;
  readonly disposed: boolean;
  /** Its data on the host (free on CPU backends: the array is the device tensor's own). */
  read(): Promise<Tensor>;
  /** Frees its memory; later use is a `disposed` error. Disposing twice is harmless. */
  dispose(): void;
}

/** Every device tensor ever made (disposed ones too, so using one says `disposed`). */
const made = new WeakSet<DeviceTensor>();
const handles = new WeakMap<DeviceTensor, { device: Device<unknown>; handle: unknown }>();

/**
 * The device tensors of one backend: creates them, hands their handles to that backend's
 * engine, and frees the ones still alive when the backend is disposed.
 */
export class Device<H> {
  private readonly live = new Set<DeviceTensor>();

  constructor(
    readonly backend: string,
    readonly store: TensorStore<H>,
  ) {}

  /** Wraps a handle the engine produced (of `shape`) as a device tensor of this backend. */
  wrap(handle: H, shape: readonly number[]): DeviceTensor {
    const size = sizeOf(shape);
    const { store, live } = this;
    let disposed = false;
    const tensor: DeviceTensor = {
      shape: Object.freeze([...shape]),
      backend: this.backend,
      get disposed() {
        return disposed;
      },
      async read() {
        if (disposed) fail('disposed', 'device tensor', shapeText(shape), 'a live device tensor');
        const data = await store.download(handle, size);
        return { shape: [...shape], data };
      },
      dispose() {
        if (disposed) return;
        disposed = true;
        live.delete(tensor);
        handles.delete(tensor);
        store.release(handle);
      },
    };
    made.add(tensor);
    handles.set(tensor, { device: this as Device<unknown>, handle });
    live.add(tensor);
    return tensor;
  }

  async upload(t: Tensor): Promise<DeviceTensor> {
    return this.wrap(await this.store.upload(t.data, t.shape), t.shape);
  }

  /** The engine handle of a device tensor given as `argument`; typed errors for foreign ones. */
  handleOf(argument: string, t: DeviceTensor): H {
    const entry = handles.get(t);
    if (t.disposed || !entry)
      fail('disposed', argument, shapeText(t.shape), 'a live device tensor');
    if (entry.device !== this) {
      fail(
        'plan-mismatch',
        argument,
        `a device tensor of backend ${t.backend}`,
        `a host tensor or a device tensor of this backend (${this.backend})`,
      );
    }
    return entry.handle as H;
  }

  /** Frees every device tensor still alive (the backend is being disposed). */
  disposeAll(): void {
    for (const t of [...this.live]) t.dispose();
  }
}

export function isDeviceTensor(t: unknown): t is DeviceTensor {
  return typeof t === 'object' && t !== null && made.has(t as DeviceTensor);
}

function shapeText(shape: readonly number[]): string {
  return `device tensor of shape ${formatValue(shape)}`;
}
