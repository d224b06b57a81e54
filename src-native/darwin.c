/* macOS: libmalloc's zones, Mach task figures and libproc. */
#include <dlfcn.h>
#include <libproc.h>
#include <malloc/malloc.h>
#include <mach-o/dyld.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/proc_info.h>
#include <unistd.h>
#include "probe.h"

#define NL_MAX_ZONES 256

/* libmalloc frees and replaces its zone array when another thread registers a
 * zone, so the array is copied out (through malloc_get_all_zones' memory
 * reader) and the zones are read from the copy. Static, so reading the heap
 * allocates nothing; the mutex keeps one reader at a time. */
static pthread_mutex_t nl_zone_lock = PTHREAD_MUTEX_INITIALIZER;
static vm_address_t nl_zone_copy[NL_MAX_ZONES];

/* libmalloc reads the zone count, the array's address and the array through
 * this one at a time, using each value before the next read. */
static kern_return_t copy_out(task_t task, vm_address_t address, vm_size_t size, void **local) {
  (void)task;
  if (size > sizeof(nl_zone_copy)) return KERN_NO_SPACE;
  memcpy(nl_zone_copy, (const void *)address, size);
  *local = nl_zone_copy;
  return KERN_SUCCESS;
}

const char *nl_platform_heap_info(nl_heap_info *out) {
  vm_address_t *zones = NULL;
  unsigned count = 0, i;
  double in_use = 0, unreadable = 0;
  pthread_mutex_lock(&nl_zone_lock);
  if (malloc_get_all_zones(mach_task_self(), copy_out, &zones, &count) != KERN_SUCCESS || zones == NULL) {
    pthread_mutex_unlock(&nl_zone_lock);
    return "malloc_get_all_zones() failed";
  }
  for (i = 0; i < count; i++) {
    malloc_zone_t *zone = (malloc_zone_t *)zones[i];
    malloc_statistics_t stats = {0};
    /* A zone registered by other code may have no introspection hooks
     * (malloc_zone_statistics would call through NULL): its blocks cannot be
     * counted, and the caller is told so. */
    if (zone == NULL || zone->introspect == NULL || zone->introspect->statistics == NULL) {
      unreadable++;
      continue;
    }
    zone->introspect->statistics(zone, &stats);
    in_use += (double)stats.size_in_use;
  }
  pthread_mutex_unlock(&nl_zone_lock);
  out->allocator = "darwin-zones";
  out->heap_used = in_use;
  /* A zone's size_in_use already counts its large (VM-allocated) blocks. */
  out->mmap_used = 0;
  out->heap_count = -1;
  out->heap_unreadable = unreadable;
  return NULL;
}

const char *nl_platform_heap_trim(nl_heap_trim *out) {
  size_t released = malloc_zone_pressure_relief(NULL, 0);
  out->allocator = "darwin-zones";
  out->action = "malloc_zone_pressure_relief(NULL, 0)";
  out->released = released > 0;
  out->released_bytes = (double)released;
  return NULL;
}

typedef const void *(*nl_cache_range_fn)(size_t *length);

/* Where the dyld shared cache is mapped in this process, read at run time:
 * the SDK's SHARED_REGION_BASE/SIZE constants differ between SDKs and
 * architectures, and the cache's place moves between macOS releases. The
 * function is exported by libdyld (macOS 10.15 and later) but declared only
 * in a private header, hence dlsym. [0, 0) when there is no cache. */
static void shared_cache_range(mach_vm_address_t *start, mach_vm_address_t *end) {
  nl_cache_range_fn range = (nl_cache_range_fn)dlsym(RTLD_DEFAULT, "_dyld_get_shared_cache_range");
  size_t length = 0;
  const void *base = range ? range(&length) : NULL;
  *start = (mach_vm_address_t)(uintptr_t)base;
  *end = base ? *start + length : *start;
}

/* Private resident pages, counted the way top(1) and psutil count them: the
 * dyld shared cache is skipped unless a region in it is private, and a
 * copy-on-write region mapped only here counts its shared pages as well. */
static double private_bytes(void) {
  mach_vm_address_t addr = 0, cache_start, cache_end;
  mach_vm_size_t size = 0;
  double pages = 0;
  shared_cache_range(&cache_start, &cache_end);
  for (;; addr += size) {
    vm_region_top_info_data_t info;
    mach_msg_type_number_t info_count = VM_REGION_TOP_INFO_COUNT;
    mach_port_t object_name;
    kern_return_t kr = mach_vm_region(mach_task_self(), &addr, &size, VM_REGION_TOP_INFO,
                                      (vm_region_info_t)&info, &info_count, &object_name);
    if (kr == KERN_INVALID_ADDRESS) break;
    if (kr != KERN_SUCCESS) return -1;
    if (addr >= cache_start && addr < cache_end && info.share_mode != SM_PRIVATE) continue;
    switch (info.share_mode) {
#ifdef SM_LARGE_PAGE
      case SM_LARGE_PAGE:
#endif
      case SM_PRIVATE:
        pages += info.private_pages_resident + (double)info.shared_pages_resident;
        break;
      case SM_COW:
        pages += info.private_pages_resident;
        if (info.ref_count == 1) pages += info.shared_pages_resident;
        break;
      default:
        break;
    }
  }
  /* The counts are of VM object pages, so of the kernel's page size. */
  return pages * (double)vm_kernel_page_size;
}

/* PROC_PIDLISTFDS with no buffer only estimates the size it needs; the count
 * comes from a call whose buffer was not filled to the end. */
static double open_fds(void) {
  int size = proc_pidinfo(getpid(), PROC_PIDLISTFDS, 0, NULL, 0);
  while (size > 0 && size <= (1 << 26)) {
    struct proc_fdinfo *fds = malloc((size_t)size);
    int used;
    if (!fds) return -1;
    used = proc_pidinfo(getpid(), PROC_PIDLISTFDS, 0, fds, size);
    free(fds);
    if (used <= 0) return -1;
    if (used + (int)PROC_PIDLISTFD_SIZE <= size) return (double)(used / (int)PROC_PIDLISTFD_SIZE);
    size *= 2;
  }
  return -1;
}

const char *nl_platform_process_info(nl_process_info *out) {
  mach_task_basic_info_data_t basic;
  mach_msg_type_number_t basic_count = MACH_TASK_BASIC_INFO_COUNT;
  struct proc_taskinfo task;
  if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, (task_info_t)&basic, &basic_count) != KERN_SUCCESS)
    return "task_info(MACH_TASK_BASIC_INFO) failed";
  if (proc_pidinfo(getpid(), PROC_PIDTASKINFO, 0, &task, sizeof(task)) != (int)sizeof(task))
    return "proc_pidinfo(PROC_PIDTASKINFO) failed";
  out->rss = (double)basic.resident_size;
  out->vms = (double)basic.virtual_size;
  out->uss = private_bytes();
  out->fds = open_fds();
  out->handles = -1;
  out->threads = task.pti_threadnum;
  if (out->uss < 0) return "mach_vm_region(VM_REGION_TOP_INFO) failed";
  if (out->fds < 0) return "proc_pidinfo(PROC_PIDLISTFDS) failed";
  return NULL;
}

/* dyld's image list may grow while it is read (a dlopen on another thread):
 * an index past its end gives NULL. */
const char *nl_platform_loaded_objects(nl_object_fn fn, void *ctx) {
  uint32_t count = _dyld_image_count();
  for (uint32_t i = 0; i < count; i++) {
    const char *name = _dyld_get_image_name(i);
    if (name) fn(ctx, name);
  }
  return NULL;
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
  return "macOS 10.15 or later (libmalloc zones)";
}
