/* Windows: the CRT's malloc (ucrt) allocates from the process heap, so the
 * heaps themselves are walked; the CRT's _heapwalk does not see those blocks.
 * Every heap is walked, since addons may also HeapCreate their own. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <psapi.h>
#include <stdlib.h>
#include <tlhelp32.h>
#include "probe.h"

#define NL_MAX_HEAPS 1024
#define NL_MAX_HEAP_BASES 65536
#define NL_PAGE_BATCH 4096

/* The scratch lists are static (in the image, not on a heap being walked or
 * among the private regions being summed), so one walk at a time. */
static SRWLOCK nl_walk_lock = SRWLOCK_INIT;
static HANDLE nl_heaps[NL_MAX_HEAPS];
/* Allocation bases of the address space the heaps own: their segments, and
 * the blocks they VirtualAlloc one by one for large requests. */
static ULONG_PTR nl_heap_bases[NL_MAX_HEAP_BASES];
static size_t nl_heap_base_count;
/* Pages whose working-set attributes are asked for in one call. */
static PSAPI_WORKING_SET_EX_INFORMATION nl_pages[NL_PAGE_BATCH];

static DWORD process_heaps(void) {
  DWORD count = GetProcessHeaps(NL_MAX_HEAPS, nl_heaps);
  return count > NL_MAX_HEAPS ? 0 : count;
}

static int remember_base(const void *address) {
  MEMORY_BASIC_INFORMATION mbi;
  if (VirtualQuery(address, &mbi, sizeof(mbi)) != sizeof(mbi)) return 1;
  if (nl_heap_base_count == NL_MAX_HEAP_BASES) return 0;
  nl_heap_bases[nl_heap_base_count++] = (ULONG_PTR)mbi.AllocationBase;
  return 1;
}

/* Sums the busy blocks of one heap and remembers where its memory lives.
 * Returns 0 when the list of bases is full. */
static int walk_heap(HANDLE heap, double *busy_bytes) {
  PROCESS_HEAP_ENTRY entry;
  const char *region_start = NULL, *region_end = NULL;
  int ok = 1;
  if (!HeapLock(heap)) return 1;
  entry.lpData = NULL;
  while (ok && HeapWalk(heap, &entry)) {
    if (entry.wFlags & PROCESS_HEAP_REGION) {
      region_start = (const char *)entry.Region.lpFirstBlock;
      region_end = (const char *)entry.Region.lpLastBlock;
      ok = remember_base(entry.lpData);
    } else if (entry.wFlags & PROCESS_HEAP_ENTRY_BUSY) {
      const char *block = (const char *)entry.lpData;
      *busy_bytes += (double)entry.cbData;
      if (block < region_start || block >= region_end) ok = remember_base(block);
    }
  }
  HeapUnlock(heap);
  return ok;
}

static int compare_bases(const void *a, const void *b) {
  ULONG_PTR x = *(const ULONG_PTR *)a, y = *(const ULONG_PTR *)b;
  return x < y ? -1 : x > y;
}

/* Private, committed, read-write memory that no heap owns: VirtualAlloc'd
 * buffers, V8's heap, thread stacks' committed pages. */
static double private_outside_heaps(void) {
  MEMORY_BASIC_INFORMATION mbi;
  const char *address = NULL;
  double total = 0;
  qsort(nl_heap_bases, nl_heap_base_count, sizeof(nl_heap_bases[0]), compare_bases);
  while (VirtualQuery(address, &mbi, sizeof(mbi)) == sizeof(mbi)) {
    ULONG_PTR base = (ULONG_PTR)mbi.AllocationBase;
    if (mbi.State == MEM_COMMIT && mbi.Type == MEM_PRIVATE && mbi.Protect == PAGE_READWRITE &&
        !bsearch(&base, nl_heap_bases, nl_heap_base_count, sizeof(base), compare_bases))
      total += (double)mbi.RegionSize;
    address = (const char *)mbi.BaseAddress + mbi.RegionSize;
  }
  return total;
}

const char *nl_platform_heap_info(nl_heap_info *out) {
  const char *err = NULL;
  DWORD count, i;
  AcquireSRWLockExclusive(&nl_walk_lock);
  count = process_heaps();
  nl_heap_base_count = 0;
  out->allocator = "windows-heap";
  out->heap_used = 0;
  out->heap_count = (double)count;
  if (count == 0) err = "GetProcessHeaps() failed or listed more heaps than nodeleak can walk";
  for (i = 0; i < count && !err; i++)
    if (!walk_heap(nl_heaps[i], &out->heap_used)) err = "the heaps own more address-space blocks than nodeleak can list";
  if (!err) out->mmap_used = private_outside_heaps();
  ReleaseSRWLockExclusive(&nl_walk_lock);
  return err;
}

const char *nl_platform_heap_trim(nl_heap_trim *out) {
  DWORD count, i;
  AcquireSRWLockExclusive(&nl_walk_lock);
  count = process_heaps();
  for (i = 0; i < count; i++) HeapCompact(nl_heaps[i], 0);
  ReleaseSRWLockExclusive(&nl_walk_lock);
  if (count == 0) return "GetProcessHeaps() failed or listed more heaps than nodeleak can walk";
  out->allocator = "windows-heap";
  out->action = "HeapCompact() on every heap";
  /* HeapCompact returns the largest free block, not what went back to the OS. */
  out->released = -1;
  out->released_bytes = -1;
  return NULL;
}

static int count_private_pages(DWORD count, double *private_pages) {
  DWORD i;
  if (!QueryWorkingSetEx(GetCurrentProcess(), nl_pages, (DWORD)(count * sizeof(nl_pages[0])))) return 0;
  for (i = 0; i < count; i++)
    if (nl_pages[i].VirtualAttributes.Valid && !nl_pages[i].VirtualAttributes.Shared) (*private_pages)++;
  return 1;
}

/* Bytes of the working set no other process shares. Asked page by page with
 * QueryWorkingSetEx over the committed regions rather than listed with
 * QueryWorkingSet: the figure is the same, and Wine implements only the former. */
static double unique_set_bytes(void) {
  MEMORY_BASIC_INFORMATION mbi;
  SYSTEM_INFO system;
  const char *address = NULL, *page;
  DWORD batched = 0;
  double private_pages = 0;
  GetSystemInfo(&system);
  while (VirtualQuery(address, &mbi, sizeof(mbi)) == sizeof(mbi)) {
    address = (const char *)mbi.BaseAddress + mbi.RegionSize;
    if (mbi.State != MEM_COMMIT) continue;
    for (page = (const char *)mbi.BaseAddress; page < address; page += system.dwPageSize) {
      nl_pages[batched++].VirtualAddress = (void *)page;
      if (batched == NL_PAGE_BATCH) {
        if (!count_private_pages(batched, &private_pages)) return -1;
        batched = 0;
      }
    }
  }
  if (batched && !count_private_pages(batched, &private_pages)) return -1;
  return private_pages * (double)system.dwPageSize;
}

static double thread_count(void) {
  THREADENTRY32 entry;
  DWORD self = GetCurrentProcessId();
  double count = 0;
  HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
  if (snapshot == INVALID_HANDLE_VALUE) return -1;
  entry.dwSize = sizeof(entry);
  if (Thread32First(snapshot, &entry)) {
    do {
      if (entry.th32OwnerProcessID == self) count++;
    } while (Thread32Next(snapshot, &entry));
  }
  CloseHandle(snapshot);
  return count;
}

const char *nl_platform_process_info(nl_process_info *out) {
  PROCESS_MEMORY_COUNTERS_EX counters;
  DWORD handles = 0;
  if (!GetProcessMemoryInfo(GetCurrentProcess(), (PROCESS_MEMORY_COUNTERS *)&counters, sizeof(counters)))
    return "GetProcessMemoryInfo() failed";
  if (!GetProcessHandleCount(GetCurrentProcess(), &handles)) return "GetProcessHandleCount() failed";
  out->rss = (double)counters.WorkingSetSize;
  out->vms = (double)counters.PrivateUsage;
  AcquireSRWLockExclusive(&nl_walk_lock);
  out->uss = unique_set_bytes();
  ReleaseSRWLockExclusive(&nl_walk_lock);
  out->fds = -1;
  out->handles = (double)handles;
  out->threads = thread_count();
  if (out->uss < 0) return "QueryWorkingSetEx() failed";
  if (out->threads < 0) return "CreateToolhelp32Snapshot() failed";
  return NULL;
}

const char *nl_platform_supported(void) {
  return "Windows (the process heaps, walked with HeapWalk)";
}
