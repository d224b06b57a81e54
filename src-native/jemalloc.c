#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "jemalloc.h"

/* jemalloc caches its statistics: they move only when "epoch" is written.
 * Blocks parked in the calling thread's cache count as allocated until the
 * cache is flushed (the flush fails harmlessly when caching is off). */
static int refresh(nl_mallctl_fn mallctl) {
  uint64_t epoch = 1;
  size_t len = sizeof(epoch);
  mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
  return mallctl("epoch", &epoch, &len, &epoch, len);
}

static int read_size(nl_mallctl_fn mallctl, const char *name, size_t *value) {
  size_t len = sizeof(*value);
  return mallctl(name, value, &len, NULL, 0);
}

const char *nl_jemalloc_heap_info(nl_mallctl_fn mallctl, nl_heap_info *out) {
  size_t allocated, mapped;
  if (refresh(mallctl) != 0 ||
      read_size(mallctl, "stats.allocated", &allocated) != 0 ||
      read_size(mallctl, "stats.mapped", &mapped) != 0)
    return "jemalloc was built without statistics (--disable-stats)";
  out->allocator = "jemalloc";
  out->heap_used = (double)allocated;
  out->mmap_used = (double)mapped;
  out->heap_count = -1;
  return NULL;
}

static int read_resident(nl_mallctl_fn mallctl, size_t *resident) {
  return refresh(mallctl) == 0 ? read_size(mallctl, "stats.resident", resident) : -1;
}

const char *nl_jemalloc_heap_trim(nl_mallctl_fn mallctl, nl_heap_trim *out) {
  /* 4096 is MALLCTL_ARENAS_ALL in jemalloc 5; jemalloc 4 numbers its "all
   * arenas" entry after the last arena instead. */
  char name[64];
  unsigned narenas = 0;
  size_t len = sizeof(narenas);
  size_t before = 0, after = 0;
  int have_resident = read_resident(mallctl, &before) == 0;

  out->allocator = "jemalloc";
  out->action = "mallctl(\"arena.<all>.purge\")";
  snprintf(name, sizeof(name), "arena.%u.purge", 4096u);
  if (mallctl(name, NULL, NULL, NULL, 0) != 0) {
    if (mallctl("arenas.narenas", &narenas, &len, NULL, 0) != 0)
      return "jemalloc refused to purge its arenas";
    snprintf(name, sizeof(name), "arena.%u.purge", narenas);
    if (mallctl(name, NULL, NULL, NULL, 0) != 0)
      return "jemalloc refused to purge its arenas";
  }
  if (have_resident && read_resident(mallctl, &after) == 0) {
    out->released_bytes = before > after ? (double)(before - after) : 0;
    out->released = before > after;
  } else {
    out->released_bytes = -1;
    out->released = -1;
  }
  return NULL;
}

static const char nl_profile_off[] =
    "jemalloc's heap profiler is off: start the process with MALLOC_CONF=prof:true, with a jemalloc built with "
    "--enable-prof (npx nodeleak --where does both)";

const char *nl_no_heap_profile(const char *command, double *result) {
  *result = 0;
  if (strcmp(command, "state") == 0) return NULL;
  return "the heap profiler needs jemalloc preloaded with MALLOC_CONF=prof:true (npx nodeleak --where, Linux only)";
}

/* opt.prof is fixed at start-up (MALLOC_CONF); prof.active turns sampling on
 * and off at run time; prof.reset also drops every sample taken so far. */
const char *nl_jemalloc_heap_profile(nl_mallctl_fn mallctl, const char *command, double value, const char *path,
                                     double *result) {
  bool enabled = false, active;
  size_t len = sizeof(enabled);
  *result = 0;
  if (mallctl("opt.prof", &enabled, &len, NULL, 0) != 0 || !enabled)
    return strcmp(command, "state") == 0 ? NULL : nl_profile_off;
  if (strcmp(command, "state") == 0) {
    *result = 1;
    return NULL;
  }
  if (strcmp(command, "start") == 0) {
    size_t lg_sample = value > 0 ? (size_t)value : 0;
    active = true;
    if (mallctl("prof.reset", NULL, NULL, &lg_sample, sizeof(lg_sample)) != 0) return "mallctl(\"prof.reset\") failed";
    if (mallctl("prof.active", NULL, NULL, &active, sizeof(active)) != 0) return "mallctl(\"prof.active\") failed";
    return NULL;
  }
  if (strcmp(command, "stop") == 0) {
    active = false;
    return mallctl("prof.active", NULL, NULL, &active, sizeof(active)) == 0 ? NULL : "mallctl(\"prof.active\") failed";
  }
  if (strcmp(command, "dump") == 0) {
    const char *file = path;
    return mallctl("prof.dump", NULL, NULL, &file, sizeof(file)) == 0 ? NULL : "mallctl(\"prof.dump\") failed";
  }
  return "unknown heap profile command";
}
