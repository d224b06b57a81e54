// The N-API binding: calls the platform backend and turns its C structs into
// plain objects. Argument checks and typed errors live in lib/.
#include <napi.h>
#include "probe.h"

namespace {

// A negative figure means the platform has none: the key is left out.
void SetFigure(Napi::Object obj, const char* key, double value) {
  if (value >= 0) obj.Set(key, Napi::Number::New(obj.Env(), value));
}

Napi::Value Unsupported(Napi::Env env, const char* why) {
  Napi::Error err = Napi::Error::New(env, why);
  err.Set("code", Napi::String::New(env, "NODELEAK_UNSUPPORTED"));
  err.Set("supported", Napi::String::New(env, nl_platform_supported()));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value HeapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nl_heap_info heap = {};
  if (const char* why = nl_platform_heap_info(&heap)) return Unsupported(env, why);
  Napi::Object result = Napi::Object::New(env);
  result.Set("heapUsed", heap.heap_used);
  result.Set("mmapUsed", heap.mmap_used);
  SetFigure(result, "heapCount", heap.heap_count);
  result.Set("allocator", heap.allocator);
  return result;
}

Napi::Value HeapTrim(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nl_heap_trim trim = {};
  if (const char* why = nl_platform_heap_trim(&trim)) return Unsupported(env, why);
  Napi::Object result = Napi::Object::New(env);
  result.Set("allocator", trim.allocator);
  result.Set("action", trim.action);
  if (trim.released < 0)
    result.Set("released", env.Null());
  else
    result.Set("released", Napi::Boolean::New(env, trim.released != 0));
  if (trim.released_bytes < 0)
    result.Set("releasedBytes", env.Null());
  else
    result.Set("releasedBytes", trim.released_bytes);
  return result;
}

Napi::Value ProcessInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nl_process_info proc = {};
  if (const char* why = nl_platform_process_info(&proc)) return Unsupported(env, why);
  Napi::Object result = Napi::Object::New(env);
  SetFigure(result, "rss", proc.rss);
  SetFigure(result, "vms", proc.vms);
  SetFigure(result, "uss", proc.uss);
  SetFigure(result, "fds", proc.fds);
  SetFigure(result, "handles", proc.handles);
  SetFigure(result, "threads", proc.threads);
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("heapInfo", Napi::Function::New(env, HeapInfo, "heapInfo"));
  exports.Set("heapTrim", Napi::Function::New(env, HeapTrim, "heapTrim"));
  exports.Set("processInfo", Napi::Function::New(env, ProcessInfo, "processInfo"));
  return exports;
}

}  // namespace

NODE_API_MODULE(nodeleak, Init)
