export { heapInfo, heapTrim, processInfo } from './probe';
export type { Allocator, HeapInfo, HeapTrimResult, ProcessInfo } from './probe';
export {
  NodeleakError,
  InvalidArgumentError,
  UnsupportedPlatformError,
  BindingLoadError,
  CheckAbortedError,
  ConcurrentCheckError,
  UnawaitedCheckError,
  UnscopedCheckError,
  FakeTimersError,
  PermissionDeniedError,
} from './errors';
export { checkLeak, checkLeakThrows } from './check-leak';
export type { ErrorClass } from './check-leak';
export type { AbortSignalLike, LeakOptions, OptionName, Tolerance } from './options';
export { OPTION_NAMES } from './options';
export { MemoryLeakTestCase } from './test-case';
export { Checkers } from './checkers';
export type { CheckerName } from './checkers';
export type { LeakReport, LeakReportBase, RoundReport } from './report';
export type { MetricName } from './decision';
export {
  InconclusiveError,
  LeakError,
  MemoryLeakError,
  UnclosedFdError,
  UnclosedHandleError,
  UnclosedNativeThreadError,
  UnclosedHeapError,
  UnclosedLibuvResourceError,
  UnclosedWorkerError,
  UnexpectedBehaviourError,
} from './leak-errors';
export type { MemoryLeakReport } from './leak-errors';
export { isQuietProcess } from './quiet';
export { ProfilerUnavailableError } from './where';
export type { LeakSite } from './where';
export type { Frame } from './symbolize';
