import { loadFixture } from '../helpers/fixtures';

/** The `leaks` fixture addon (test/fixtures/leaks): each leaking export beside its clean twin. */
export interface LeaksFixture {
  /** malloc(bytes), memory touched, never freed. */
  mallocLeak(bytes: number): void;
  /** malloc(bytes), memory touched, freed. */
  mallocClean(bytes: number): void;
  /** Every 10th call (counted in C) mallocs 16 bytes (a 32-byte glibc chunk) and never frees them. */
  every10thLeak(): void;
  /** Every 10th call mallocs 16 bytes and frees them. */
  every10thClean(): void;
  /** napi_create_reference on a new object, never deleted. */
  refLeak(): void;
  /** napi_create_reference then napi_delete_reference. */
  refClean(): void;
  /** A napi_wrap'ed object with a 64-byte payload its finalizer forgets to free. */
  wrapLeak(): object;
  /** The same object whose finalizer frees the payload. */
  wrapClean(): object;
  /** mmap of 64 KiB, touched, never unmapped. */
  mmapLeak(): void;
  /** mmap of 64 KiB, touched, unmapped. */
  mmapClean(): void;
  /** open("/dev/null"), never closed. */
  fdLeak(): void;
  /** open("/dev/null"), closed. */
  fdClean(): void;
  /** Starts a thread that waits until stopThreads(). */
  threadLeak(): void;
  /** Starts a thread that ends at once, and joins it. */
  threadClean(): void;
  /** Releases and joins every thread threadLeak started; returns how many. */
  stopThreads(): number;
  /** Async work whose execute (pool thread) mallocs bytes that complete forgets to free. */
  asyncLeak(bytes: number): Promise<void>;
  /** The same async work, complete frees the bytes. */
  asyncClean(bytes: number): Promise<void>;
  /** 48 bytes leaked in leak_from_site_big() and 16 in leak_from_site_small(), both called from here. */
  twoSitesLeak(): void;
  /** Every nth call mallocs bytes and never frees them: a leak on a rare path. */
  leakEvery(n: number, bytes: number): void;
  /** Keeps a block of bytes a call, and frees them all once they reach limit bytes: bounded growth. */
  cacheFill(bytes: number, limit: number): void;
  /** Appends bytes to an array that doubles its storage when full, never shrunk: growth in steps (std::vector). */
  vectorLeak(bytes: number): void;
  /** The same array, popped after each push: its storage stays at its first size. */
  vectorClean(bytes: number): void;
  /** Takes bytes, touched, from a 1 GiB region reserved once (PROT_NONE), making its pages usable as it fills; never given back. */
  reservedLeak(bytes: number): void;
  /** The same, given back after each call: the region's first pages are reused. */
  reservedClean(bytes: number): void;
}

export const leaks = loadFixture<LeaksFixture>('leaks');
