/**
 * A one-node ONNX model (Conv with bias, weights as initializers) written as protobuf bytes.
 * Only the few messages and wire types the model needs: varints (wire type 0) and
 * length-delimited fields (wire type 2). Field numbers are onnx.proto's.
 */

class Writer {
  private readonly bytes: number[] = [];

  varint(value: number): this {
    let v = value;
    if (v < 0 || !Number.isSafeInteger(v)) throw new Error(`varint out of range: ${value}`);
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
    return this;
  }

  /** A varint field (int32, int64, enum). */
  int(field: number, value: number): this {
    return this.varint(field << 3).varint(value);
  }

  /** A length-delimited field: bytes, a string or a nested message. */
  bytesField(field: number, data: Uint8Array | string): this {
    const b = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    this.varint((field << 3) | 2).varint(b.length);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2; // AttributeProto.AttributeType.INT
const ATTR_INTS = 7;

export interface ConvModelSpec {
  /** Input shape, NCHW. */
  x: readonly [number, number, number, number];
  /** Output shape, NCHW. */
  y: readonly [number, number, number, number];
  w: { shape: readonly [number, number, number, number]; data: Float32Array };
  b: Float32Array | null;
  strides: readonly [number, number];
  /** ONNX order: [top, left, bottom, right]. */
  pads: readonly [number, number, number, number];
  dilations: readonly [number, number];
  group: number;
}

function tensorProto(w: Writer, name: string, dims: readonly number[], data: Float32Array): void {
  for (const d of dims) w.int(1, d); // dims
  w.int(2, FLOAT); // data_type
  w.bytesField(8, name); // name
  // raw_data: little-endian float32 (the byte order of every platform Node runs on)
  w.bytesField(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function valueInfo(w: Writer, name: string, dims: readonly number[]): void {
  w.bytesField(1, name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, FLOAT); // elem_type
      tensor.message(2, (shape) => {
        for (const d of dims) shape.message(1, (dim) => dim.int(1, d)); // dim_value
      });
    }),
  );
}

function intsAttribute(w: Writer, name: string, values: readonly number[]): void {
  w.bytesField(1, name);
  for (const v of values) w.int(8, v); // ints
  w.int(20, ATTR_INTS); // type
}

/** Encodes the model; its input is `x`, its output `y`. */
export function encodeConvModel(spec: ConvModelSpec): Uint8Array {
  const model = new Writer();
  model.int(1, 8); // ir_version 8 (onnx 1.10+)
  model.bytesField(2, 'conv2d-bench'); // producer_name
  model.message(7, (graph) => {
    graph.message(1, (node) => {
      node.bytesField(1, 'x');
      node.bytesField(1, 'w');
      if (spec.b) node.bytesField(1, 'b');
      node.bytesField(2, 'y');
      node.bytesField(3, 'conv');
      node.bytesField(4, 'Conv');
      node.message(5, (a) => intsAttribute(a, 'dilations', spec.dilations));
      node.message(5, (a) => {
        a.bytesField(1, 'group');
        a.int(3, spec.group); // i
        a.int(20, ATTR_INT);
      });
      node.message(5, (a) => intsAttribute(a, 'kernel_shape', spec.w.shape.slice(2)));
      node.message(5, (a) => intsAttribute(a, 'pads', spec.pads));
      node.message(5, (a) => intsAttribute(a, 'strides', spec.strides));
    });
    graph.bytesField(2, 'conv2d');
    graph.message(5, (t) => tensorProto(t, 'w', spec.w.shape, spec.w.data));
    if (spec.b)
      graph.message(5, (t) => tensorProto(t, 'b', [spec.b?.length ?? 0], spec.b as Float32Array));
    graph.message(11, (v) => valueInfo(v, 'x', spec.x));
    graph.message(12, (v) => valueInfo(v, 'y', spec.y));
  });
  model.message(8, (opset) => opset.int(2, 13)); // opset_import: default domain, version 13
  return model.finish();
}
