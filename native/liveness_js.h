// The JavaScript face of native/liveness: the LivenessTracker class (the C++ twin, exported for
// the shared suite in test/liveness.test.ts) and the conversions the engine reuses.
#pragma once
#include <napi.h>

#include <string>

#include "liveness.h"

namespace hbd {

// Reads localNode, nodes, keepaliveMs, deadtimeMs, warntimeMs, initdeadMs and the optional
// deadpingMs (TS LivenessConfig); pingNodes is the caller's (names here, objects for the Engine).
LivenessConfig LivenessConfigFromJs(const Napi::Object& o, const std::string& where);

// Sets the event's fields on `obj` exactly as lib/transport/types.ts LivenessEvent spells them.
void SetLivenessEventFields(Napi::Object obj, const LivenessEvent& e);

void InitLivenessTracker(Napi::Env env, Napi::Object exports);

}  // namespace hbd
