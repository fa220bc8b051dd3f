/**
 * The worker's training data as an Arrow IPC file: column `x`, a fixed-size list of `width`
 * float32 per row (a TCN sequence `[L·d]`, NaN = missing: values, not nulls), and column `y`,
 * uint8 labels. pyarrow reads it zero-copy into numpy (`pyarrow.ipc.open_file`).
 * apache-arrow is imported on first use, so loading the adapter loads no Arrow code.
 */
export async function sequencesToArrow(x: Float32Array, y: Uint8Array, width: number): Promise<Uint8Array> {
  const rows = y.length;
  if (x.length !== rows * width) {
    throw new RangeError(`sequencesToArrow: x has ${x.length} values, expected ${rows} × ${width}`);
  }
  const arrow = await import('apache-arrow');
  const item = new arrow.Field('item', new arrow.Float32(), false);
  const listType = new arrow.FixedSizeList(width, item);
  const values = arrow.makeData({ type: new arrow.Float32(), length: x.length, data: x });
  const xData = arrow.makeData({ type: listType, length: rows, child: values });
  const yData = arrow.makeData({ type: new arrow.Uint8(), length: rows, data: y });
  const fields = [new arrow.Field('x', listType, false), new arrow.Field('y', new arrow.Uint8(), false)];
  const schema = new arrow.Schema(fields);
  const struct = arrow.makeData({
    type: new arrow.Struct(fields),
    length: rows,
    nullCount: 0,
    children: [xData, yData],
  });
  const table = new arrow.Table([new arrow.RecordBatch(schema, struct)]);
  return arrow.tableToIPC(table, 'file');
}
