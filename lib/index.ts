export { heapInfo, heapTrim, processInfo } from './probe';
export type { Allocator, HeapInfo, HeapTrimResult, ProcessInfo } from './probe';
export { NodeleakError, InvalidArgumentError, UnsupportedPlatformError, BindingLoadError } from './errors';
