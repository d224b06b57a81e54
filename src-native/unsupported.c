/* Platforms with no backend: the package still loads, and every call
 * reports that this platform is not supported. */
#include "probe.h"

static const char nl_unsupported[] = "nodeleak has no probe for this operating system";

const char *nl_platform_heap_info(nl_heap_info *out) { (void)out; return nl_unsupported; }
const char *nl_platform_heap_trim(nl_heap_trim *out) { (void)out; return nl_unsupported; }
const char *nl_platform_process_info(nl_process_info *out) { (void)out; return nl_unsupported; }
const char *nl_platform_heap_profile(const char *command, double value, const char *path, double *result) {
  (void)command; (void)value; (void)path;
  *result = 0;
  return nl_unsupported;
}
const char *nl_platform_loaded_objects(nl_object_fn fn, void *ctx) { (void)fn; (void)ctx; return nl_unsupported; }
const char *nl_platform_supported(void) { return "Linux, macOS, Windows, FreeBSD and NetBSD"; }
