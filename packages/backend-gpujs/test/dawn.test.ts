import { describe, expect, it } from 'vitest';
import { acceptEventHandlers } from '../src/modes.js';

/** A stand-in for Dawn's Node objects: its device rejects a function as `onuncapturederror`. */
class FakeDevice {
  set onuncapturederror(_handler: unknown) {
    throw new TypeError('object is not of the correct interface type');
  }
}
class FakeAdapter {
  async requestDevice(): Promise<FakeDevice> {
    return new FakeDevice();
  }
}
class FakeGpu {
  constructor(private readonly adapter: FakeAdapter | null) {}
  async requestAdapter(): Promise<FakeAdapter | null> {
    return this.adapter;
  }
}

describe('acceptEventHandlers (Dawn quirk seen on the GPU machine)', () => {
  it('lets gpu.js assign onuncapturederror on every device', async () => {
    const gpu = acceptEventHandlers(new FakeGpu(new FakeAdapter())) as FakeGpu;
    const adapter = await gpu.requestAdapter();
    const device = (await adapter?.requestDevice()) as FakeDevice & { onuncapturederror: unknown };
    const handler = () => undefined;
    device.onuncapturederror = handler;
    expect(device.onuncapturederror).toBe(handler);
    // the unwrapped object still throws: the wrapper is what makes the difference
    expect(() => {
      (new FakeDevice() as { onuncapturederror: unknown }).onuncapturederror = handler;
    }).toThrow(TypeError);
  });

  it('passes a missing adapter through', async () => {
    const gpu = acceptEventHandlers(new FakeGpu(null)) as FakeGpu;
    expect(await gpu.requestAdapter()).toBeNull();
  });
});
