/* Windows: the CRT's malloc (ucrt) allocates from the process heap, so the
 * heaps themselves are walked; the CRT's _heapwalk does not see those blocks.
 * Every heap is walked, since addons may also HeapCreate their own. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <malloc.h>
#include <psapi.h>
#include <stdlib.h>
#include <tlhelp32.h>
#include <string.h>
#include "probe.h"

#define NL_MAX_HEAPS 1024
#define NL_PAGE_BATCH 4096
#define NL_MAX_MODULES 4096

/* The scratch lists are static (in the image, not on a heap being walked), so
 * one walk at a time. */
static SRWLOCK nl_walk_lock = SRWLOCK_INIT;
static HANDLE nl_heaps[NL_MAX_HEAPS];
/* Pages whose working-set attributes are asked for in one call. */
static PSAPI_WORKING_SET_EX_INFORMATION nl_pages[NL_PAGE_BATCH];

static DWORD process_heaps(void) {
  DWORD count = GetProcessHeaps(NL_MAX_HEAPS, nl_heaps);
  return count > NL_MAX_HEAPS ? 0 : count;
}

/* Sums the busy blocks of one heap: those inside its segments (regions), and
 * the large ones it VirtualAllocs one by one, which lie outside every region
 * (as glibc mmaps its large chunks). Returns 0 when the heap could not be read
 * whole: HeapLock failed, or HeapWalk stopped before ERROR_NO_MORE_ITEMS. */
static int walk_heap(HANDLE heap, double *small_bytes, double *large_bytes) {
  PROCESS_HEAP_ENTRY entry;
  const char *region_start = NULL, *region_end = NULL;
  double small = 0, large = 0;
  DWORD end;
  if (!HeapLock(heap)) return 0;
  entry.lpData = NULL;
  while (HeapWalk(heap, &entry)) {
    if (entry.wFlags & PROCESS_HEAP_REGION) {
      region_start = (const char *)entry.Region.lpFirstBlock;
      region_end = (const char *)entry.Region.lpLastBlock;
    } else if (entry.wFlags & PROCESS_HEAP_ENTRY_BUSY) {
      const char *block = (const char *)entry.lpData;
      if (block >= region_start && block < region_end)
        small += (double)entry.cbData;
      else
        large += (double)entry.cbData;
    }
  }
  end = GetLastError();
  HeapUnlock(heap);
  if (end != ERROR_NO_MORE_ITEMS) return 0;
  *small_bytes += small;
  *large_bytes += large;
  return 1;
}

const char *nl_platform_heap_info(nl_heap_info *out) {
  DWORD count, i;
  double unreadable = 0;
  AcquireSRWLockExclusive(&nl_walk_lock);
  count = process_heaps();
  out->allocator = "windows-heap";
  out->heap_used = 0;
  out->mmap_used = 0;
  out->heap_count = (double)count;
  for (i = 0; i < count; i++)
    if (!walk_heap(nl_heaps[i], &out->heap_used, &out->mmap_used)) unreadable++;
  out->heap_unreadable = unreadable;
  ReleaseSRWLockExclusive(&nl_walk_lock);
  if (count == 0) return "GetProcessHeaps() failed or listed more heaps than nodeleak can walk";
  return NULL;
}

/* Only the heaps the CRT and the process allocate from are compacted: another
 * owner's heap may be HEAP_NO_SERIALIZE, and touching it while its owner
 * allocates is undefined behaviour. */
const char *nl_platform_heap_trim(nl_heap_trim *out) {
  HANDLE process_heap = GetProcessHeap();
  HANDLE crt_heap = (HANDLE)_get_heap_handle();
  if (process_heap == NULL) return "GetProcessHeap() failed";
  HeapCompact(process_heap, 0);
  if (crt_heap != NULL && crt_heap != process_heap) HeapCompact(crt_heap, 0);
  out->allocator = "windows-heap";
  out->action = "HeapCompact() on the process heap and the CRT heap";
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

typedef LONG(NTAPI *nl_next_thread_fn)(HANDLE process, HANDLE thread, ACCESS_MASK access, ULONG attributes,
                                       ULONG flags, PHANDLE next);

/* This process's running threads, one handle at a time with ntdll's
 * NtGetNextThread (Vista and later): its cost grows with this process's
 * threads only. A Toolhelp snapshot, which copies every thread of the system,
 * is the fallback. */
static double thread_count(void) {
  static nl_next_thread_fn next_thread;
  static int looked_up;
  THREADENTRY32 entry;
  DWORD self = GetCurrentProcessId();
  double count = 0;
  HANDLE snapshot;
  if (!looked_up) {
    next_thread = (nl_next_thread_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "NtGetNextThread");
    looked_up = 1;
  }
  if (next_thread) {
    HANDLE current = NULL, next;
    while (next_thread(GetCurrentProcess(), current, THREAD_QUERY_LIMITED_INFORMATION, 0, 0, &next) >= 0) {
      DWORD exit_code;
      if (current) CloseHandle(current);
      current = next;
      /* A thread that has exited stays listed while a handle to it is open. */
      if (GetExitCodeThread(next, &exit_code) && exit_code == STILL_ACTIVE) count++;
    }
    if (current) CloseHandle(current);
    if (count > 0) return count;
  }
  snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
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

/* Static, as the heap lists are; the walk lock keeps one reader at a time. */
static HMODULE nl_modules[NL_MAX_MODULES];
static WCHAR nl_module_wide[32768];
static char nl_module_utf8[3 * 32768];

const char *nl_platform_loaded_objects(nl_object_fn fn, void *ctx) {
  DWORD needed = 0, count, i;
  const char *why = NULL;
  AcquireSRWLockExclusive(&nl_walk_lock);
  if (!EnumProcessModules(GetCurrentProcess(), nl_modules, sizeof(nl_modules), &needed)) {
    why = "EnumProcessModules() failed";
  } else {
    count = needed / sizeof(HMODULE);
    if (count > NL_MAX_MODULES) count = NL_MAX_MODULES;
    for (i = 0; i < count; i++) {
      DWORD length = GetModuleFileNameW(nl_modules[i], nl_module_wide, sizeof(nl_module_wide) / sizeof(WCHAR));
      if (length == 0 || length >= sizeof(nl_module_wide) / sizeof(WCHAR)) continue;
      if (WideCharToMultiByte(CP_UTF8, 0, nl_module_wide, (int)length + 1, nl_module_utf8, (int)sizeof(nl_module_utf8), NULL, NULL) > 0)
        fn(ctx, nl_module_utf8);
    }
  }
  ReleaseSRWLockExclusive(&nl_walk_lock);
  return why;
}

/* No heap profiler here: macOS has MallocStackLogging with leaks(1) and
 * malloc_history(1), Windows has UMDH (see README, "Finding the leak"). */
const char *nl_platform_heap_profile(const char *command, double value, const char *path, double *result) {
  (void)value;
  (void)path;
  *result = 0;
  return strcmp(command, "state") == 0 ? NULL : "no heap profiler on this platform";
}

const char *nl_platform_supported(void) {
  return "Windows (the process heaps, walked with HeapWalk)";
}
