// The JavaScript face of the engine: the addon's Engine class (lib/transport/native.ts wraps it
// into a Transport) and monoNow().
#pragma once
#include <napi.h>

namespace hbd {

void InitEngine(Napi::Env env, Napi::Object exports);

}  // namespace hbd
