/* The C interface every platform backend implements. Figures are in bytes
 * (counts for heap_count, fds/handles and threads); a negative value means
 * "this platform has no such figure". Each call returns NULL on success or a
 * static message saying why the platform cannot answer. */
#ifndef NODELEAK_PROBE_H
#define NODELEAK_PROBE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *allocator;
  double heap_used;
  double mmap_used;
  double heap_count;
  /* Windows heaps or macOS zones whose blocks could not be read, so are not
   * in heap_used: a heap that could not be locked or walked to the end, a
   * zone without statistics. */
  double heap_unreadable;
} nl_heap_info;

typedef struct {
  const char *allocator;
  const char *action;
  /* 1 released, 0 did not, -1 the allocator does not say */
  int released;
  /* bytes given back to the OS, -1 when the allocator does not say */
  double released_bytes;
} nl_heap_trim;

typedef struct {
  double rss;
  double vms;
  double uss;
  double fds;
  double handles;
  double threads;
} nl_process_info;

const char *nl_platform_heap_info(nl_heap_info *out);
const char *nl_platform_heap_trim(nl_heap_trim *out);
const char *nl_platform_process_info(nl_process_info *out);
/* The allocator's heap profiler: jemalloc's, in a process started with it
 * preloaded and MALLOC_CONF=prof:true. command "state": *result is 1 when it
 * can be used, else 0 (never an error); "start": drop what was sampled,
 * sample one allocation per 2^value bytes on average, turn sampling on;
 * "stop": turn it off; "dump": write the live sampled stacks to path, in
 * jemalloc's heap_v2 text format. */
const char *nl_platform_heap_profile(const char *command, double value, const char *path, double *result);
/* The files of the shared objects loaded in this process (the executable,
 * libraries, addons), each passed to fn as a UTF-8 path; fn must not call back
 * into the probe. */
typedef void (*nl_object_fn)(void *ctx, const char *path);
const char *nl_platform_loaded_objects(nl_object_fn fn, void *ctx);
/* What the backend compiled into this binary supports, for error messages. */
const char *nl_platform_supported(void);

#ifdef __cplusplus
}
#endif

#endif
