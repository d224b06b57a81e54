/* Linux: glibc's malloc, or jemalloc / tcmalloc when preloaded. Every
 * allocator entry point is looked up at run time, so one binary serves all
 * three, and the file also compiles against musl, whose malloc has no
 * statistics at all. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "jemalloc.h"
#include "probe.h"

/* Declared here rather than taken from <malloc.h>, which musl lacks. */
struct nl_mallinfo2 {
  size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
struct nl_mallinfo {
  int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

typedef enum { NL_NONE, NL_JEMALLOC, NL_TCMALLOC, NL_GLIBC } nl_allocator;

static struct {
  nl_allocator kind;
  nl_mallctl_fn mallctl;
  int (*tc_get)(const char *name, size_t *value);
  void (*tc_release)(void);
  struct nl_mallinfo2 (*mallinfo2)(void);
  struct nl_mallinfo (*mallinfo)(void);
  int (*malloc_trim)(size_t pad);
  char why[256];
} nl_alloc;

static pthread_once_t nl_alloc_once = PTHREAD_ONCE_INIT;

static void *sym(const char *name) { return dlsym(RTLD_DEFAULT, name); }

static void glibc_read(double *heap_used, double *mmap_used) {
  if (nl_alloc.mallinfo2) {
    struct nl_mallinfo2 mi = nl_alloc.mallinfo2();
    *heap_used = (double)mi.uordblks;
    *mmap_used = (double)mi.hblkhd;
  } else {
    /* mallinfo()'s int fields wrap past 2 GiB; read them as unsigned. */
    struct nl_mallinfo mi = nl_alloc.mallinfo();
    *heap_used = (double)(unsigned)mi.uordblks;
    *mmap_used = (double)(unsigned)mi.hblkhd;
  }
}

/* glibc's statistics describe only glibc's own malloc, and must not be read
 * when a preloaded allocator answers malloc(). Symbol addresses cannot tell
 * (dlsym may return the executable's PLT slot), so allocate a block and see
 * whether glibc counted it. Under another allocator glibc's counters do not
 * move at all; under glibc they move by the block, give or take what other
 * threads free meanwhile (V8 frees whole buffers on background threads after
 * a GC, so one try alone misjudged about 1 process in 50). Hence half the
 * block as the bar, and tries spread over ~15 ms before concluding. The block
 * stays below glibc's lowest default mmap threshold (128 KiB): freeing a
 * mapped block would raise that threshold for the rest of the process. */
static int glibc_counts_malloc(void) {
  const size_t size = 64 * 1024;
  struct timespec pause = {0, 1000 * 1000};
  double heap_before, mmap_before, heap_after, mmap_after;
  void *block;
  int attempt;
  for (attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) {
      nanosleep(&pause, NULL);
      pause.tv_nsec *= 2;
    }
    glibc_read(&heap_before, &mmap_before);
    block = malloc(size);
    if (!block) continue;
    ((volatile char *)block)[0] = 1;
    glibc_read(&heap_after, &mmap_after);
    free(block);
    if ((heap_after + mmap_after) - (heap_before + mmap_before) >= (double)(size / 2)) return 1;
  }
  return 0;
}

static void detect_allocator(void) {
  if ((nl_alloc.mallctl = (nl_mallctl_fn)sym("mallctl")) != NULL) {
    nl_alloc.kind = NL_JEMALLOC;
    return;
  }
  nl_alloc.tc_get = (int (*)(const char *, size_t *))sym("MallocExtension_GetNumericProperty");
  nl_alloc.tc_release = (void (*)(void))sym("MallocExtension_ReleaseFreeMemory");
  if (nl_alloc.tc_get && nl_alloc.tc_release) {
    nl_alloc.kind = NL_TCMALLOC;
    return;
  }
  nl_alloc.mallinfo2 = (struct nl_mallinfo2 (*)(void))sym("mallinfo2");
  nl_alloc.mallinfo = (struct nl_mallinfo (*)(void))sym("mallinfo");
  nl_alloc.malloc_trim = (int (*)(size_t))sym("malloc_trim");
  if ((nl_alloc.mallinfo2 || nl_alloc.mallinfo) && nl_alloc.malloc_trim) {
    if (glibc_counts_malloc()) {
      nl_alloc.kind = NL_GLIBC;
      return;
    }
    snprintf(nl_alloc.why, sizeof(nl_alloc.why),
             "malloc() is answered by an allocator nodeleak cannot read (LD_PRELOAD=%s)",
             getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
    return;
  }
  snprintf(nl_alloc.why, sizeof(nl_alloc.why),
           "this libc's malloc has no statistics API (musl or another non-glibc libc)");
}

static const char *allocator(void) {
  pthread_once(&nl_alloc_once, detect_allocator);
  return nl_alloc.kind == NL_NONE ? nl_alloc.why : NULL;
}

static double tc_property(const char *name) {
  size_t value = 0;
  return nl_alloc.tc_get(name, &value) ? (double)value : -1;
}

const char *nl_platform_heap_info(nl_heap_info *out) {
  const char *err = allocator();
  if (err) return err;
  out->heap_count = -1;
  switch (nl_alloc.kind) {
    case NL_JEMALLOC:
      return nl_jemalloc_heap_info(nl_alloc.mallctl, out);
    case NL_TCMALLOC:
      out->allocator = "tcmalloc";
      out->heap_used = tc_property("generic.current_allocated_bytes");
      out->mmap_used = tc_property("generic.heap_size") - tc_property("tcmalloc.pageheap_unmapped_bytes");
      return out->heap_used < 0 ? "tcmalloc did not report generic.current_allocated_bytes" : NULL;
    case NL_GLIBC:
      out->allocator = "glibc";
      glibc_read(&out->heap_used, &out->mmap_used);
      return NULL;
    default:
      return nl_alloc.why;
  }
}

const char *nl_platform_heap_trim(nl_heap_trim *out) {
  const char *err = allocator();
  double before;
  if (err) return err;
  switch (nl_alloc.kind) {
    case NL_JEMALLOC:
      return nl_jemalloc_heap_trim(nl_alloc.mallctl, out);
    case NL_TCMALLOC:
      out->allocator = "tcmalloc";
      out->action = "MallocExtension_ReleaseFreeMemory()";
      before = tc_property("tcmalloc.pageheap_unmapped_bytes");
      nl_alloc.tc_release();
      out->released_bytes = before < 0 ? -1 : tc_property("tcmalloc.pageheap_unmapped_bytes") - before;
      if (out->released_bytes < -0.5 && before >= 0) out->released_bytes = 0;
      out->released = out->released_bytes < 0 ? -1 : out->released_bytes > 0;
      return NULL;
    default:
      out->allocator = "glibc";
      out->action = "malloc_trim(0)";
      out->released = nl_alloc.malloc_trim(0) ? 1 : 0;
      out->released_bytes = -1;
      return NULL;
  }
}

static ssize_t read_small_file(const char *path, char *buf, size_t size) {
  ssize_t n, total = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  while ((size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - total)) > 0) total += n;
  close(fd);
  buf[total] = '\0';
  return total;
}

/* Resident and private (Private_Clean + Private_Dirty) bytes, from one walk of
 * the page tables: smaps_rollup holds one line of each; plain smaps (kernels
 * before 4.14) one per mapping. statm's resident count is the kernel's running
 * counter, which lags behind by the pages threads have not yet added to it, so
 * it can read below what smaps counts as private a moment later. */
static int resident_bytes(double *resident, double *private_total) {
  char line[256];
  unsigned long long kb, rss = 0, private_kb = 0;
  FILE *f = fopen("/proc/self/smaps_rollup", "re");
  if (!f) f = fopen("/proc/self/smaps", "re");
  if (!f) return -1;
  while (fgets(line, sizeof(line), f)) {
    if (sscanf(line, "Rss: %llu kB", &kb) == 1) rss += kb;
    else if ((sscanf(line, "Private_Clean: %llu kB", &kb) == 1) ||
             (sscanf(line, "Private_Dirty: %llu kB", &kb) == 1))
      private_kb += kb;
  }
  fclose(f);
  *resident = (double)rss * 1024;
  *private_total = (double)private_kb * 1024;
  return 0;
}

static double open_fds(void) {
  struct dirent *entry;
  double count = 0;
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    if (atoi(entry->d_name) == dirfd(dir)) continue;
    count++;
  }
  closedir(dir);
  return count;
}

static double thread_count(void) {
  char buf[4096];
  const char *line;
  if (read_small_file("/proc/self/status", buf, sizeof(buf)) < 0) return -1;
  line = strstr(buf, "\nThreads:");
  return line ? strtod(line + 9, NULL) : -1;
}

const char *nl_platform_process_info(nl_process_info *out) {
  char buf[256];
  unsigned long long size_pages;
  double page = (double)sysconf(_SC_PAGESIZE);
  if (read_small_file("/proc/self/statm", buf, sizeof(buf)) < 0 || sscanf(buf, "%llu", &size_pages) != 1)
    return "cannot read /proc/self/statm (is /proc mounted?)";
  out->vms = (double)size_pages * page;
  if (resident_bytes(&out->rss, &out->uss) < 0) return "cannot read /proc/self/smaps_rollup or /proc/self/smaps";
  out->fds = open_fds();
  out->handles = -1;
  out->threads = thread_count();
  if (out->fds < 0 || out->threads < 0) return "cannot read /proc/self (fd or status)";
  return NULL;
}

struct nl_object_walk {
  nl_object_fn fn;
  void *ctx;
};

static int each_object(struct dl_phdr_info *info, size_t size, void *data) {
  struct nl_object_walk *walk = data;
  (void)size;
  /* The executable comes first with an empty name; the vDSO has no file. */
  if (info->dlpi_name && info->dlpi_name[0] == '/') walk->fn(walk->ctx, info->dlpi_name);
  return 0;
}

const char *nl_platform_loaded_objects(nl_object_fn fn, void *ctx) {
  struct nl_object_walk walk = {fn, ctx};
  dl_iterate_phdr(each_object, &walk);
  return NULL;
}

const char *nl_platform_heap_profile(const char *command, double value, const char *path, double *result) {
  if (allocator() == NULL && nl_alloc.kind == NL_JEMALLOC)
    return nl_jemalloc_heap_profile(nl_alloc.mallctl, command, value, path, result);
  return nl_no_heap_profile(command, result);
}

const char *nl_platform_supported(void) {
  return "Linux with glibc, or with jemalloc or tcmalloc preloaded";
}
