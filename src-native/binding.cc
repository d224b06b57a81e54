// The N-API binding: calls the platform backend and turns its C structs into
// plain objects. Argument checks and typed errors live in lib/.
#include <napi.h>
#include <mutex>
#include <string>
#include <vector>
#include "probe.h"

namespace {

// One leak check at a time per process: a check measures the whole process, and this library is loaded once per
// process however many threads (Node environments) load it, so its statics are the one place every thread sees.
std::mutex check_mutex;
napi_env check_holder = nullptr;  // the environment whose check is running, or nullptr
std::string check_label;
int environments = 0;  // Node environments (main thread, workers) that have loaded the probe

// acquireCheck(label): null when this environment now holds the guard; otherwise the label of the running check.
Napi::Value AcquireCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::lock_guard<std::mutex> lock(check_mutex);
  if (check_holder != nullptr) return Napi::String::New(env, check_label);
  check_holder = env;
  check_label = info[0].As<Napi::String>().Utf8Value();
  return env.Null();
}

void ReleaseHeldBy(napi_env env) {
  std::lock_guard<std::mutex> lock(check_mutex);
  if (check_holder == env) {
    check_holder = nullptr;
    check_label.clear();
  }
}

Napi::Value ReleaseCheck(const Napi::CallbackInfo& info) {
  ReleaseHeldBy(info.Env());
  return info.Env().Undefined();
}

Napi::Value LoadedEnvironments(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(check_mutex);
  return Napi::Number::New(info.Env(), environments);
}

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
  heap.heap_unreadable = -1;  // only the backends that can miss a heap set it
  if (const char* why = nl_platform_heap_info(&heap)) return Unsupported(env, why);
  Napi::Object result = Napi::Object::New(env);
  result.Set("heapUsed", heap.heap_used);
  result.Set("mmapUsed", heap.mmap_used);
  SetFigure(result, "heapCount", heap.heap_count);
  SetFigure(result, "unreadableHeaps", heap.heap_unreadable);
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

// heapProfile(command, value, path): the allocator's heap profiler (probe.h); returns its numeric answer.
Napi::Value HeapProfile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string command = info[0].As<Napi::String>().Utf8Value();
  std::string path = info[2].As<Napi::String>().Utf8Value();
  double result = 0;
  if (const char* why = nl_platform_heap_profile(command.c_str(), info[1].As<Napi::Number>().DoubleValue(), path.c_str(), &result))
    return Unsupported(env, why);
  return Napi::Number::New(env, result);
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

void AddObject(void* ctx, const char* path) {
  static_cast<std::vector<std::string>*>(ctx)->emplace_back(path);
}

Napi::Value LoadedObjects(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> paths;
  if (const char* why = nl_platform_loaded_objects(AddObject, &paths)) return Unsupported(env, why);
  Napi::Array result = Napi::Array::New(env, paths.size());
  for (size_t i = 0; i < paths.size(); i++) result.Set(static_cast<uint32_t>(i), Napi::String::New(env, paths[i]));
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("heapInfo", Napi::Function::New(env, HeapInfo, "heapInfo"));
  exports.Set("heapTrim", Napi::Function::New(env, HeapTrim, "heapTrim"));
  exports.Set("processInfo", Napi::Function::New(env, ProcessInfo, "processInfo"));
  exports.Set("loadedObjects", Napi::Function::New(env, LoadedObjects, "loadedObjects"));
  exports.Set("heapProfile", Napi::Function::New(env, HeapProfile, "heapProfile"));
  exports.Set("acquireCheck", Napi::Function::New(env, AcquireCheck, "acquireCheck"));
  exports.Set("releaseCheck", Napi::Function::New(env, ReleaseCheck, "releaseCheck"));
  exports.Set("loadedEnvironments", Napi::Function::New(env, LoadedEnvironments, "loadedEnvironments"));
  {
    std::lock_guard<std::mutex> lock(check_mutex);
    environments++;
  }
  // A worker terminated mid-check never runs its finally blocks: its environment's teardown releases the guard.
  napi_env raw = env;
  env.AddCleanupHook([raw]() {
    ReleaseHeldBy(raw);
    std::lock_guard<std::mutex> lock(check_mutex);
    environments--;
  });
  return exports;
}

}  // namespace

NODE_API_MODULE(nodeleak, Init)
