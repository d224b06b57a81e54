/* jemalloc's figures, shared by Linux (jemalloc preloaded) and FreeBSD (jemalloc is libc's malloc). */
#ifndef NODELEAK_JEMALLOC_H
#define NODELEAK_JEMALLOC_H

#include <stddef.h>
#include "probe.h"

typedef int (*nl_mallctl_fn)(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

const char *nl_jemalloc_heap_info(nl_mallctl_fn mallctl, nl_heap_info *out);
const char *nl_jemalloc_heap_trim(nl_mallctl_fn mallctl, nl_heap_trim *out);
const char *nl_jemalloc_heap_profile(nl_mallctl_fn mallctl, const char *command, double value, const char *path,
                                     double *result);
/* Every backend's answer where no profiler can be had. */
const char *nl_no_heap_profile(const char *command, double *result);

#endif
