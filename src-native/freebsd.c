/* FreeBSD: libc's malloc is jemalloc, so its mallctl() is always there. */
#include <sys/param.h>
#include <sys/user.h>
#include <sys/sysctl.h>
#include <malloc_np.h>
#include <unistd.h>
#include "jemalloc.h"
#include "probe.h"

const char *nl_platform_heap_info(nl_heap_info *out) {
  return nl_jemalloc_heap_info(mallctl, out);
}

const char *nl_platform_heap_trim(nl_heap_trim *out) {
  return nl_jemalloc_heap_trim(mallctl, out);
}

/* KERN_PROC_NFDS counts the calling process's descriptors only, and insists
 * on 0 where other KERN_PROC names take a pid. */
static double open_fds(void) {
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_NFDS, 0};
  int count;
  size_t len = sizeof(count);
  return sysctl(mib, 4, &count, &len, NULL, 0) == 0 ? count : -1;
}

const char *nl_platform_process_info(nl_process_info *out) {
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)getpid()};
  struct kinfo_proc proc;
  size_t len = sizeof(proc);
  if (sysctl(mib, 4, &proc, &len, NULL, 0) != 0 || len != sizeof(proc) ||
      proc.ki_structsize != (int)sizeof(proc))
    return "sysctl(KERN_PROC_PID) failed";
  out->rss = (double)proc.ki_rssize * (double)getpagesize();
  out->vms = (double)proc.ki_size;
  /* No figure matches uss here: kinfo_vmentry's kve_private_resident is the
   * resident page count of any mapped VM object without a backing object,
   * shared library files included, so uss is left out. */
  out->uss = -1;
  out->fds = open_fds();
  out->handles = -1;
  out->threads = proc.ki_numthreads;
  return out->fds < 0 ? "sysctl(KERN_PROC_NFDS) failed" : NULL;
}

const char *nl_platform_loaded_objects(nl_object_fn fn, void *ctx) {
  (void)fn;
  (void)ctx;
  return "no list of loaded objects on this platform";
}

const char *nl_platform_heap_profile(const char *command, double value, const char *path, double *result) {
  return nl_jemalloc_heap_profile(mallctl, command, value, path, result);
}

const char *nl_platform_supported(void) {
  return "FreeBSD 11 or later (jemalloc in libc)";
}
