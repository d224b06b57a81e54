/* NetBSD: libc's malloc is jemalloc. Releases built with jemalloc 5 export
 * mallctl() and older ones do not, so it is looked up at run time rather
 * than linked. */
#include <sys/param.h>
#include <sys/sysctl.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
#include "jemalloc.h"
#include "probe.h"

static const char nl_no_mallctl[] = "this NetBSD libc's malloc exports no mallctl() (an older libc jemalloc)";

static nl_mallctl_fn find_mallctl(void) {
  return (nl_mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
}

const char *nl_platform_heap_info(nl_heap_info *out) {
  nl_mallctl_fn mallctl = find_mallctl();
  return mallctl ? nl_jemalloc_heap_info(mallctl, out) : nl_no_mallctl;
}

const char *nl_platform_heap_trim(nl_heap_trim *out) {
  nl_mallctl_fn mallctl = find_mallctl();
  return mallctl ? nl_jemalloc_heap_trim(mallctl, out) : nl_no_mallctl;
}

/* KERN_FILE_BYPID with no buffer adds KERN_FILESLOP entries to its answer;
 * the count comes from a call whose buffer was not filled to the end. */
static double open_fds(void) {
  int mib[6] = {CTL_KERN, KERN_FILE2, KERN_FILE_BYPID, (int)getpid(), (int)sizeof(struct kinfo_file), 0};
  size_t size = 0, used;
  if (sysctl(mib, 6, NULL, &size, NULL, 0) != 0) return -1;
  while (size > 0 && size <= ((size_t)1 << 26)) {
    struct kinfo_file *files = malloc(size);
    int failed;
    if (!files) return -1;
    used = size;
    mib[5] = (int)(size / sizeof(struct kinfo_file));
    failed = sysctl(mib, 6, files, &used, NULL, 0) != 0;
    free(files);
    if (failed) return -1;
    if (used < size) return (double)(used / sizeof(struct kinfo_file));
    size *= 2;
  }
  return -1;
}

const char *nl_platform_process_info(nl_process_info *out) {
  int mib[6] = {CTL_KERN, KERN_PROC2, KERN_PROC_PID, (int)getpid(), (int)sizeof(struct kinfo_proc2), 1};
  struct kinfo_proc2 proc;
  size_t len = sizeof(proc);
  double page = (double)getpagesize();
  if (sysctl(mib, 6, &proc, &len, NULL, 0) != 0 || len != sizeof(proc))
    return "sysctl(KERN_PROC2) failed";
  out->rss = (double)proc.p_vm_rssize * page;
  out->vms = (double)proc.p_vm_vsize * page;
  /* No private-resident figure here either, so uss is left out. */
  out->uss = -1;
  out->fds = open_fds();
  out->handles = -1;
  out->threads = (double)proc.p_nlwps;
  return out->fds < 0 ? "sysctl(KERN_FILE2) failed" : NULL;
}

const char *nl_platform_loaded_objects(nl_object_fn fn, void *ctx) {
  (void)fn;
  (void)ctx;
  return "no list of loaded objects on this platform";
}

const char *nl_platform_heap_profile(const char *command, double value, const char *path, double *result) {
  nl_mallctl_fn mallctl = find_mallctl();
  return mallctl ? nl_jemalloc_heap_profile(mallctl, command, value, path, result) : nl_no_heap_profile(command, result);
}

const char *nl_platform_supported(void) {
  return "NetBSD with jemalloc 5 in libc";
}
