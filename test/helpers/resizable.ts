/** A resizable ArrayBuffer (ES2024, Node 20 and up): V8 reserves `max` bytes of address space and commits pages as it grows. */
export function resizableBuffer(max: number): ArrayBuffer & { resize(length: number): void } {
  const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(length: number): void };
  return new Resizable(0, { maxByteLength: max });
}
