// What each test of the *.leaks.ts suites must do: fail with the named error class, or pass.
// Keys are mocha full titles: "<class> <method>".
export type Outcome = 'pass' | 'MemoryLeakError' | 'UnclosedFdError' | 'UnclosedNativeThreadError';

export const expectedOutcomes: Record<string, Record<string, Outcome>> = {
  'native-heap.leaks.ts': {
    'NativeHeapLeaks testMalloc1Leak': 'MemoryLeakError',
    'NativeHeapLeaks testMalloc1Clean': 'pass',
    'NativeHeapLeaks testMalloc16Leak': 'MemoryLeakError',
    'NativeHeapLeaks testMalloc16Clean': 'pass',
    'NativeHeapLeaks testMalloc1KiBLeak': 'MemoryLeakError',
    'NativeHeapLeaks testMalloc1KiBClean': 'pass',
    'NativeHeapLeaks testMalloc1MiBLeak': 'MemoryLeakError',
    'NativeHeapLeaks testMalloc1MiBClean': 'pass',
    'NativeHeapLeaks testEvery10thLeak': 'MemoryLeakError',
    'NativeHeapLeaks testEvery10thClean': 'pass',
  },
  'native-objects.leaks.ts': {
    'NativeObjectLeaks testRefLeak': 'MemoryLeakError',
    'NativeObjectLeaks testRefClean': 'pass',
    'NativeObjectLeaks testWrapLeak': 'MemoryLeakError',
    'NativeObjectLeaks testWrapClean': 'pass',
    'NativeObjectLeaks testAsyncLeak': 'MemoryLeakError',
    'NativeObjectLeaks testAsyncClean': 'pass',
  },
  'native-resources.leaks.ts': {
    'NativeResourceLeaks testMmapLeak': 'MemoryLeakError',
    'NativeResourceLeaks testMmapClean': 'pass',
    'NativeResourceLeaks testReservedPagesLeak': 'MemoryLeakError',
    'NativeResourceLeaks testReservedPagesClean': 'pass',
    'NativeResourceLeaks testFdLeak': 'UnclosedFdError',
    'NativeResourceLeaks testFdClean': 'pass',
    'NativeResourceLeaks testThreadLeak': 'UnclosedNativeThreadError',
    'NativeResourceLeaks testThreadClean': 'pass',
  },
  'historical.leaks.ts': {
    'HistoricalLeaks testObjectWrap821Leak': 'MemoryLeakError',
    'HistoricalLeaks testObjectWrap822Clean': 'pass',
  },
  'js.leaks.ts': {
    'JsLeaks testGrowingArrayLeak': 'MemoryLeakError',
    'JsLeaks testDroppedArrayClean': 'pass',
    'JsLeaks testResizableArrayBufferLeak': 'MemoryLeakError',
    'JsLeaks testResizableArrayBufferClean': 'pass',
  },
};
